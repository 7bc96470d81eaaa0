"""One progress-bar style for every long command (frames, fps, ETA)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True)


def frame_progress(transient: bool = False) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        console=console, transient=transient,
    )


@contextlib.contextmanager
def frame_callback(description: str, transient: bool = False) -> Iterator[Callable[[int, int | None, float], None]]:
    """A progress bar fed by a library callback ``(done, total or None, seconds)``: the library never imports this."""
    with frame_progress(transient=transient) as progress:
        task = progress.add_task(description, total=None, rate="")

        def update(done: int, total: int | None, seconds: float) -> None:
            progress.update(task, completed=done, total=total, rate=f"{done / seconds:.2f} fps" if seconds else "")

        yield update
