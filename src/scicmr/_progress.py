"""Progress bars for long work (tqdm on stderr; silent when SCICMR_QUIET=1)."""

from __future__ import annotations

import os
from typing import Iterable, Iterator, TypeVar

T = TypeVar("T")


def progress(iterable: Iterable[T], *, total: int | None = None, desc: str = "", unit: str = "it") -> Iterator[T]:
    """Wrap ``iterable`` in a progress bar unless progress is disabled."""
    if os.environ.get("SCICMR_QUIET") == "1":
        yield from iterable
        return
    from tqdm.auto import tqdm

    # disable=None: bars only on a terminal, so logs and pipes stay clean.
    yield from tqdm(iterable, total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True,
                    mininterval=0.5, disable=None)
