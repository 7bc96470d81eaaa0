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


def first_line(exc: BaseException, limit: int = 160) -> str:
    """The first line of an exception's message (its type name when empty), for one-line errors."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:limit]
