"""Run one function over many items, in this process or a pool here, or on Ray.

The heavy verbs (PDF parsing at ingest, figure OCR, encoding) take an *executor*: a strategy
with one method, ``map(fn, items, context=None, desc=...)``, that yields ``fn(item)`` (or
``fn(context, item)``) for every item **in input order**, with a progress bar that advances as
results come back, whatever order they finish in.

- :class:`LocalExecutor` — today's behaviour and the default: ``workers=1`` runs in this
  process (lazily, one item at a time), more runs a process pool on this machine.
- :class:`RayExecutor` — Ray tasks (``context=None``) or a pool of Ray actors that each hold
  ``context`` (an encoder: loaded once per worker, not once per batch). ``address="local"``
  starts a Ray on this machine with its cores; any other address joins that cluster
  (``ray.init(address=...)``: ``host:6379``, ``ray://host:10001``, ``auto``). Needs the ``ray``
  extra; ``ray`` is imported only here, when the executor is made.

``fn`` must be a module-level function and items and context picklable (they travel to other
processes). An exception raised by ``fn`` stops the map and is raised here, as the local path
would raise it; functions that must not stop a run on one bad item (one bad PDF) catch their
own errors and return them as data, as :func:`scicmr.corpus.pdf.folder` does. Ray workers read
inputs and write outputs at the paths they are given: on a cluster of several machines the
source and the library must be on storage every node mounts at the same path.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any, Protocol, TypeVar

from scicmr._progress import progress
from scicmr.errors import InputError

T = TypeVar("T")
R = TypeVar("R")

#: The ``address`` that starts a Ray on this machine instead of joining a cluster.
LOCAL = "local"
#: Calls queued per Ray worker beyond the one it runs: keeps workers busy between round trips
#: without shipping the whole input at once.
_QUEUE_PER_WORKER = 2
RAY_EXTRA_FIX = "pip install 'scicmr[ray]' (pinned: pip install -c constraints.txt 'scicmr[ray]')"


class Executor(Protocol):
    """The strategy the heavy verbs take (see the module docstring)."""

    def map(self, fn: Callable[..., R], items: Iterable[Any], *, context: Any = None,
            desc: str | None = None, unit: str = "it") -> Iterator[R]:
        """``fn(item)`` (``fn(context, item)`` when ``context`` is not None) for every item, in
        input order; a progress bar named ``desc`` (None: no bar)."""
        ...  # pragma: no cover - protocol


def in_order(done: Iterable[tuple[int, R]], n: int) -> Iterator[R]:
    """The values of ``(index, value)`` pairs that arrive in any order, yielded by index
    0..n-1 as soon as each next one is there (later ones wait in a buffer)."""
    waiting: dict[int, R] = {}
    following = 0
    for index, value in done:
        waiting[index] = value
        while following in waiting:
            yield waiting.pop(following)
            following += 1
    if following != n:  # pragma: no cover - an executor lost an item
        raise RuntimeError(f"executor returned {following} of {n} results")


def _bar(done: Iterable[T], n: int, desc: str | None, unit: str) -> Iterable[T]:
    return done if desc is None else progress(done, total=n, desc=desc, unit=unit)


class LocalExecutor:
    """Run on this machine: in this process (``workers=1``, the default) or in a pool of
    ``workers`` processes."""

    def __init__(self, workers: int = 1):
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise InputError(f"workers must be a positive integer, got {workers!r}")
        self.workers = workers

    def __repr__(self) -> str:
        return f"LocalExecutor(workers={self.workers})"

    def map(self, fn: Callable[..., R], items: Iterable[Any], *, context: Any = None,
            desc: str | None = None, unit: str = "it") -> Iterator[R]:
        items = list(items)
        call = fn if context is None else functools.partial(fn, context)
        if self.workers == 1 or len(items) <= 1:
            # Lazy: the caller consumes (and may store) each result before the next is made.
            yield from _bar(map(call, items), len(items), desc, unit)
            return
        with ProcessPoolExecutor(max_workers=min(self.workers, len(items))) as pool:
            futures = {pool.submit(call, item): i for i, item in enumerate(items)}
            done = ((futures[f], f.result()) for f in as_completed(futures))
            yield from in_order(_bar(done, len(items), desc, unit), len(items))


def require_ray() -> None:
    """InputError naming the ``ray`` extra when ray is not installed."""
    if importlib.util.find_spec("ray") is None:
        raise InputError("--ray needs the Python package 'ray', which is not installed", fix=RAY_EXTRA_FIX)


def _call(fn: Callable[[Any], R], item: Any) -> R:
    """A Ray task: one item."""
    return fn(item)


class _Holder:
    """A Ray actor: holds ``context`` (deserialised once, an encoder's model loaded once) and
    applies ``fn(context, item)`` to the items sent to it."""

    def __init__(self, fn: Callable[[Any, Any], Any], context: Any):
        self.fn, self.context = fn, context

    def run(self, item: Any) -> Any:
        return self.fn(self.context, item)


#: Settings of this process that Ray workers get too: the only ones worker code reads (the
#: figure-OCR cache folder, quiet progress) and offline model loading. An allowlist, not every
#: ``SCICMR_*`` variable: the service's API key and the Milvus token must not travel into a
#: cluster's runtime_env (workers never use them), nor the fault suite's ``SCICMR_CRASH_AT``
#: (its crash points are in the writing process, not in work sent to workers).
_FORWARDED = ("SCICMR_CACHE_DIR", "SCICMR_QUIET", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "TOKENIZERS_PARALLELISM")


def worker_env() -> dict[str, Any]:
    """The Ray ``runtime_env`` for scicmr's workers: this process's settings named in
    ``_FORWARDED`` (the figure-OCR cache folder, quiet progress, offline flags); from a source
    checkout (scicmr not in a site-packages folder) also its ``src`` folder on ``PYTHONPATH``,
    so workers import this scicmr. An installed scicmr needs nothing more (cluster nodes
    install it like any dependency)."""
    env = {k: v for k, v in os.environ.items() if k in _FORWARDED}
    src = str(Path(__file__).resolve().parents[1])  # the folder that holds the scicmr package
    if "site-packages" not in src and "dist-packages" not in src:
        paths = [src] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != src]
        env["PYTHONPATH"] = os.pathsep.join(paths)
    return {"env_vars": env} if env else {}


class RayExecutor:
    """Run on Ray: a local Ray (``address="local"``, ``num_cpus`` cores, default all) or the
    cluster at ``address``. Connects on first use; :meth:`close` (or ``with``) shuts down a Ray
    it connected to. A process that is already connected (``ray.init`` called) is used as is."""

    def __init__(self, address: str | None = LOCAL, *, num_cpus: int | None = None):
        require_ray()
        self.address = address or LOCAL
        if num_cpus is not None and self.address != LOCAL:
            raise InputError("num_cpus applies to a local Ray only", fix="leave it out when joining a cluster")
        self.num_cpus = num_cpus
        self._connected = False

    def __repr__(self) -> str:
        return f"RayExecutor(address={self.address!r})"

    def __enter__(self) -> "RayExecutor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connect(self):
        """Connect (start a local Ray) now rather than at the first map; returns the ray module."""
        import ray

        if not ray.is_initialized():
            options: dict[str, Any] = {"address": self.address, "runtime_env": worker_env()}
            if self.address == LOCAL:
                options.update(num_cpus=self.num_cpus, include_dashboard=False)
            try:
                ray.init(**options)
            except ConnectionError as exc:
                raise InputError(f"cannot connect to the Ray cluster at {self.address}: {exc}",
                                 fix="check the address (host:6379 or ray://host:10001) and that the cluster "
                                 "is up (`ray status`), or pass --ray without an address for a local Ray") from None
            self._connected = True
        return ray

    def close(self) -> None:
        """Disconnect from (and for a local one, stop) the Ray this executor started."""
        if self._connected:
            import ray

            ray.shutdown()
            self._connected = False

    def map(self, fn: Callable[..., R], items: Iterable[Any], *, context: Any = None,
            desc: str | None = None, unit: str = "it") -> Iterator[R]:
        items = list(items)
        if not items:
            return
        ray = self.connect()
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        actors: list[Any] = []
        if context is None:
            task = ray.remote(_call)
            slots: list[Any] = [None] * (cpus * _QUEUE_PER_WORKER)

            def submit(slot: Any, item: Any) -> Any:
                return task.remote(fn, item)
        else:
            holder = ray.remote(num_cpus=1, max_restarts=2, max_task_retries=2)(_Holder)
            shared = ray.put(context)  # shipped once, deserialised once per actor
            actors = [holder.remote(fn, shared) for _ in range(min(cpus, len(items)))]
            slots = actors * _QUEUE_PER_WORKER

            def submit(slot: Any, item: Any) -> Any:
                return slot.run.remote(item)
        try:
            done = _completions(ray, submit, slots, items)
            yield from in_order(_bar(done, len(items), desc, unit), len(items))
        finally:
            for actor in actors:
                ray.kill(actor)


def _completions(ray: Any, submit: Callable[[Any, Any], Any], slots: list[Any],
                 items: list[Any]) -> Iterator[tuple[int, Any]]:
    """``(index, result)`` as Ray calls finish (``ray.wait``): each free slot (a task quota or an
    actor's queue place) takes the next item, so at most ``len(slots)`` calls are in flight. A
    call that raised re-raises its own exception here (a ScicmrError keeps its fix)."""
    free, pending, following = deque(slots), {}, 0
    try:
        while following < len(items) or pending:
            while free and following < len(items):
                slot = free.popleft()
                pending[submit(slot, items[following])] = (following, slot)
                following += 1
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                index, slot = pending.pop(ref)
                free.append(slot)
                yield index, _get(ray, ref)
    finally:
        for ref in pending:  # stopped early (an error, the caller gave up): drop the rest
            try:
                ray.cancel(ref)
            except Exception:  # noqa: BLE001 -- already finished or gone: nothing to drop
                pass


def _get(ray: Any, ref: Any) -> Any:
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, Exception):
            raise cause from exc
        raise


__all__ = ["Executor", "LOCAL", "LocalExecutor", "RayExecutor", "in_order", "require_ray", "worker_env"]
