"""A terminal progress bar for long commands (demo seeding, benchmarks, imports)."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

T = TypeVar("T")


def progress(
    items: Iterable[T], *, total: int, label: str, stream: TextIO | None = None, width: int = 30
) -> Iterator[T]:
    """Yield ``items`` while drawing ``label [#####.....] n/total`` on a terminal.

    Draws nothing when the stream is not a terminal except one line at the end, so logs
    stay readable.
    """
    out = stream or sys.stderr
    interactive = out.isatty()
    started = time.monotonic()
    last_draw = 0.0
    done = 0
    for done, item in enumerate(items, start=1):
        yield item
        now = time.monotonic()
        if interactive and (now - last_draw > 0.1 or done == total):
            filled = int(width * done / total) if total else width
            out.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
            out.flush()
            last_draw = now
    elapsed = time.monotonic() - started
    if interactive:
        out.write("\n")
    out.write(f"{label}: {done} done in {elapsed:.1f} s\n")
    out.flush()
