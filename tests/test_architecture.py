"""Imports run one way between the stages, as docs/architecture.md's table says (read from the doc)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# folder -> its name in the one namespace (pyproject [tool.setuptools] package-dir)
FOLDERS = {"edgevsr": "edgevsr", "calibration": "edgevsr.calibration", "quantize": "edgevsr.quantize",
           "deploy": "edgevsr.deploy", "edge": "edgevsr.edge"}
STAGES_BY_PREFIX = [("edgevsr.calibration", "calibration"), ("edgevsr.quantize", "quantize"),
                    ("edgevsr.deploy", "deploy"), ("edgevsr.edge", "edge"), ("edgevsr.train", "train"),
                    ("edgevsr.cli", "cli"), ("edgevsr.api", "api")]


def allowed() -> dict[str, set[str]]:
    """stage -> stages it may import, from the '| stage | code | may import |' table of the doc."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    table = text[text.index("| stage | code | may import |"):].split("\n\n")[0].splitlines()[2:]
    out = {}
    for row in table:
        stage, _code, may = (c.strip() for c in row.strip().strip("|").split("|"))
        out[stage] = {stage, *(s.strip() for s in may.split(","))}
    return out


def stage_of(module: str) -> str:
    for prefix, stage in STAGES_BY_PREFIX:
        if module == prefix or module.startswith(prefix + "."):
            return stage
    return "root" if module == "edgevsr" else "core"


def module_name(path: Path, root: Path = ROOT) -> str:
    rel = path.relative_to(root)
    parts = [FOLDERS[rel.parts[0]], *rel.with_suffix("").parts[1:]]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, root: Path = ROOT) -> list[tuple[int, str, list[str]]]:
    """(line, imported module, names) of every edgevsr import, function-local and relative ones included."""
    found = []
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package.pop()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, []) for a in node.names if a.name.split(".")[0] == "edgevsr"]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            if module.split(".")[0] != "edgevsr":
                continue
            if node.level and not node.module:  # from . import a, b: each name is a module of the package
                found += [(node.lineno, f"{module}.{a.name}", []) for a in node.names]
            else:
                found.append((node.lineno, module, [a.name for a in node.names]))
    return found


def product_modules() -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (ROOT / folder).rglob("*.py"))


def violations(paths: list[Path] | None = None, root: Path = ROOT) -> list[str]:
    rules = allowed()
    bad = []
    for path in product_modules() if paths is None else paths:
        src_stage = stage_of(module_name(path, root))
        for line, target, names in imports(path, root):
            where = f"{path.relative_to(root)}:{line} imports {target}"
            dst_stage = stage_of(target)
            if dst_stage == "root":
                if set(names) - {"__version__"}:  # the root's public names are the API: top only
                    dst_stage = "api"
                else:
                    continue
            if src_stage == "root":
                bad.append(f"{where}: the package root imports nothing eagerly (PEP 562 names only)")
            elif dst_stage not in rules[src_stage]:
                bad.append(f"{where} ({src_stage} -> {dst_stage}: not allowed by docs/architecture.md)")
    return bad


def test_the_doc_table_names_every_stage():
    assert set(allowed()) == {"core", "calibration", "quantize", "deploy", "edge", "train", "api", "cli"}
    assert "cli" not in set().union(*(v for k, v in allowed().items() if k != "cli"))


def test_stages_are_read_from_the_real_tree():
    names = {module_name(p) for p in product_modules()}
    assert {"edgevsr.quantize.int8", "edgevsr.calibration.calibrators", "edgevsr.deploy.trt_builder",
            "edgevsr.edge.pipeline", "edgevsr.cli.main", "edgevsr.api", "edgevsr.stream"} <= names
    assert stage_of("edgevsr.quality.metrics") == "core" and stage_of("edgevsr.train.gan") == "train"
    # a function-local import is found like a module-level one
    lines = [t for _, t, _ in imports(ROOT / "edgevsr" / "cli" / "upscale_cmd.py")]
    assert "edgevsr.upscale" in lines


def test_checker_catches_imports_against_the_direction(tmp_path):
    (tmp_path / "calibration").mkdir()
    fake = tmp_path / "calibration" / "fake.py"
    fake.write_text("import edgevsr.errors\n\n\ndef f():\n    from edgevsr.quantize.int8 import quantize_qdq\n"
                    "    from .calibrators import METHODS\n    from .. import api\n")
    assert [t for _, t, _ in imports(fake, tmp_path)] == ["edgevsr.errors", "edgevsr.quantize.int8",
                                                          "edgevsr.calibration.calibrators", "edgevsr.api"]
    assert violations([fake], tmp_path) == [
        "calibration/fake.py:5 imports edgevsr.quantize.int8 (calibration -> quantize: not allowed by "
        "docs/architecture.md)",
        "calibration/fake.py:7 imports edgevsr.api (calibration -> api: not allowed by docs/architecture.md)"]


def test_imports_run_one_way():
    bad = violations()
    assert not bad, "imports against docs/architecture.md:\n" + "\n".join(bad)


def test_nothing_outside_the_cli_imports_it():
    users = {module_name(p) for p in product_modules() for _, t, _ in imports(p)
             if stage_of(t) == "cli" and stage_of(module_name(p)) != "cli"}
    assert not users, users


def test_the_folders_read_are_pyprojects_package_dirs():
    """A new top-level stage folder must be mapped in pyproject and named here (and in the doc's table)."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    line = next(ln for ln in pyproject.splitlines() if ln.startswith("package-dir"))
    assert {folder: name for name, folder in re.findall(r'"(edgevsr[.\w]*)" = "(\w+)"', line)} == FOLDERS
