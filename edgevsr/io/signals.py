"""SIGTERM and SIGHUP (what systemd, docker and a closed terminal send) end edgevsr like Ctrl-C does.

Python's default for those signals kills the process at once: no ``finally`` runs, so temporary outputs
would be left behind. :func:`install` turns them into :class:`Terminated`, a ``BaseException`` like
``SystemExit`` (not a ``KeyboardInterrupt``, which click turns into its own exit), so every ``finally`` and
``except BaseException`` cleanup runs and the exit code is 128 + the signal.
:func:`graceful_stop` is for loops that should
*finish* on a signal rather than unwind (``edgevsr run`` saving what it recorded): the first signal calls
``stop``, a second one interrupts as usual.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator

STOP_SIGNALS = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None),
                                 getattr(signal, "SIGHUP", None)) if s is not None)


class Terminated(BaseException):
    """Raised in the main thread when SIGTERM/SIGHUP arrives; ``signum`` gives the exit code 128 + signum."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise(signum, frame) -> None:
    raise Terminated(signum)


def install() -> None:
    """SIGTERM/SIGHUP raise :class:`Terminated` in the main thread (no-op elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in STOP_SIGNALS:
        if sig != signal.SIGINT:
            signal.signal(sig, _raise)


@contextlib.contextmanager
def graceful_stop(stop: Callable[[str], None]) -> Iterator[None]:
    """Within the block, the first SIGINT/SIGTERM/SIGHUP calls ``stop(signal name)``; a second one raises."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    seen: list[int] = []

    def handler(signum, frame) -> None:
        if seen:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise Terminated(signum)
        seen.append(signum)
        stop(signal.Signals(signum).name)

    old = {sig: signal.signal(sig, handler) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def run_script(main: Callable[[], int], prog: str) -> None:
    """Exit with ``main()``'s status, for a ``python -m`` tool or a benchmark script outside the ``edgevsr`` CLI:
    SIGTERM/SIGHUP unwind as in the CLI (every ``atomic_path`` temp removed; Python's default left
    ``.NAME.PID-*.partial*`` beside the output) and end, like Ctrl-C, in one line: exit 128 + signal, 130."""
    install()
    try:
        code = main()
    except Terminated as exc:
        print(f"{prog}: stopped by {exc}", file=sys.stderr)
        code = 128 + exc.signum
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)
