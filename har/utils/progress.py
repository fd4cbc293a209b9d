"""One way to report progress: a tqdm bar on the terminal, or a callback for the app.

Long functions take `progress`: True for a bar (the CLI), a callable progress(done, total)
(the app's progress bars, the training process's event file), or False for silence.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from tqdm import tqdm

Progress = bool | Callable[[int, int], None]


@contextlib.contextmanager
def reporting(
    progress: Progress, total: int, desc: str, unit: str, done: int = 0
) -> Iterator[Callable[[int], None]]:
    """Yield advance(k=1), which moves the bar or calls progress(done, total)."""
    bar = None
    if progress is True:
        bar = tqdm(total=total, initial=done, desc=desc, unit=unit, dynamic_ncols=True)
    count = done

    def advance(k: int = 1) -> None:
        nonlocal count
        count += k
        if bar is not None:
            bar.update(k)
        elif callable(progress):
            progress(count, total)

    try:
        yield advance
    finally:
        if bar is not None:
            bar.close()
