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

# soft_wrap: a message is one line even when stderr is a file or pipe (rich would cut it at 80 columns)
console = Console(stderr=True, soft_wrap=True)


class _Progress(Progress):
    """A progress bar that vanishes when the command fails: an error is one line, not an empty bar and a line."""

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            return super().__exit__(exc_type, exc, tb)
        for task in self.tasks:
            task.visible = False
        self.live.transient = True  # a terminal: the bar drawn so far is erased
        quiet, self.console.quiet = self.console.quiet, quiet_or(self.console)  # a pipe: nothing drawn at all
        try:
            super().__exit__(exc_type, exc, tb)
        finally:
            self.console.quiet = quiet


def quiet_or(c: Console) -> bool:
    return c.quiet or not c.is_terminal


def frame_progress(transient: bool = False) -> Progress:
    return _Progress(
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
