"""One exception type for everything a user can get wrong.

The CLI prints these as a single line (no traceback) and exits with code 2, so
every message must name the file or option and the problem.
"""


class EdgeVSRError(Exception):
    """A user-facing error: bad input file, bad option, missing optional dependency."""


def require(module: str, extra: str, purpose: str):
    """Import an optional dependency lazily, or fail with the extra that provides it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise EdgeVSRError(
            f"{purpose} needs the Python module '{module}' ({exc}); install it with: pip install 'edgevsr[{extra}]'"
        ) from None


def torch_load_reason(exc: BaseException) -> str:
    """Why ``torch.load(weights_only=True)`` refused a file, without PyTorch's advice to unpickle it anyway."""
    import re

    text = str(exc)
    if "weights_only" not in text and "Weights only load failed" not in text:
        return first_line(exc, 200)
    found = re.search(r"Unsupported global: GLOBAL ([\w.]+)", text)
    what = f" ({found.group(1)})" if found else ""
    return f"the file holds pickled Python objects{what}, not just tensors; edgevsr loads only safetensors or " \
           "plain tensor state dicts (convert it where you trust it)"


def first_line(exc: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message (its type name when empty), for one-line errors."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:limit]
