"""The machinery under :func:`rwe_cart.repeat`: random streams per replicate, the task
every backend runs, the BLAS thread limit, and the joblib and Dask backends.

:mod:`rwe_cart.parallel` explains how the numbers stay identical whatever runs them;
:class:`ReplicateFailure` and :class:`ReplicateError` are imported from there.
"""
from __future__ import annotations

import math
import pickle
import threading
import traceback
import warnings
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["BACKENDS", "Raised", "ReplicateError", "ReplicateFailure", "child_rng",
           "chunk_size", "dask_client", "iter_dask", "iter_joblib", "progress_bar",
           "resolve_backend", "run_chunk", "seed_root", "split_chunks", "thread_limit"]

BACKENDS = ("sequential", "joblib", "dask")

# "auto" batch size: about this many chunks per worker.
_CHUNKS_PER_WORKER = 8


# ---------------------------------------------------------------------------------------
# Seeds
# ---------------------------------------------------------------------------------------
def seed_root(seed: Any) -> tuple[Any, tuple[int, ...], int]:
    """(entropy, spawn_key, pool_size) of the SeedSequence a seed stands for."""
    if seed is None:
        raise TypeError("seed is required (an int >= 0) so that the replicates can be "
                        "reproduced; seed=None would draw fresh entropy on every run")
    if isinstance(seed, np.random.SeedSequence):
        # used by value: its children are counted from 0, the object is never advanced
        return seed.entropy, tuple(seed.spawn_key), seed.pool_size
    if isinstance(seed, np.random.Generator | np.random.BitGenerator | np.random.RandomState):
        raise TypeError(f"seed must be an int >= 0 (or a SeedSequence), not a "
                        f"{type(seed).__name__}: a generator's state cannot be split "
                        "into per-replicate streams that every backend reproduces")
    values = [seed] if np.ndim(seed) == 0 else list(seed)
    bad = [v for v in values
           if isinstance(v, bool | np.bool_) or not isinstance(v, int | np.integer) or v < 0]
    if bad or not values:
        raise TypeError(f"seed must be an int >= 0, a sequence of them or a "
                        f"numpy SeedSequence; got {seed!r}")
    ss = np.random.SeedSequence([int(v) for v in values] if np.ndim(seed) else int(seed))
    return ss.entropy, (), ss.pool_size


def child_rng(root: tuple[Any, tuple[int, ...], int], i: int) -> np.random.Generator:
    entropy, spawn_key, pool_size = root
    ss = np.random.SeedSequence(entropy, spawn_key=(*spawn_key, i), pool_size=pool_size)
    return np.random.Generator(np.random.PCG64(ss))


# ---------------------------------------------------------------------------------------
# Failures
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReplicateFailure:
    """A replicate that raised, as returned by ``repeat(..., errors="return")``.

    Attributes
    ----------
    replicate : int
        The replicate's index (0-based); :func:`replicate_rng` rebuilds its generator.
    error_type : str
        Qualified name of the exception class, e.g. ``"numpy.linalg.LinAlgError"``.
    message : str
        ``str(exception)``.
    traceback : str
        The formatted traceback, as it was in the worker.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> def fit(rng):
    ...     if rng.random() < 0.5:
    ...         raise ValueError("no events")
    ...     return 1.0
    >>> results = rc.repeat(fit, 4, seed=3, errors="return", backend="sequential")
    >>> [type(r).__name__ for r in results]
    ['float', 'ReplicateFailure', 'ReplicateFailure', 'ReplicateFailure']
    >>> failure = next(r for r in results if isinstance(r, rc.ReplicateFailure))
    >>> failure.error_type, failure.message
    ('ValueError', 'no events')
    """

    replicate: int
    error_type: str
    message: str
    traceback: str = field(repr=False)

    def __str__(self) -> str:
        return f"replicate {self.replicate}: {self.error_type}: {self.message}"


class ReplicateError(RuntimeError):
    """A replicate raised in :func:`repeat` (``errors="raise"``).

    The message names the replicate; ``.failure`` holds a :class:`ReplicateFailure`,
    ``__cause__`` the original exception when it could be brought back from the worker,
    and the worker's traceback is attached as a note.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> def fit(rng):
    ...     raise ValueError("no events")
    >>> try:
    ...     rc.repeat(fit, 3, seed=3, backend="sequential")
    ... except rc.ReplicateError as error:
    ...     print(error.failure.replicate, error.failure.message)
    0 no events
    """

    def __init__(self, message: str, failure: ReplicateFailure):
        super().__init__(message)
        self.failure = failure
        self.replicate = failure.replicate


@dataclass(frozen=True, eq=False)
class Raised:
    """A failure that stops the run (errors="raise"), with the exception if it travels."""

    failure: ReplicateFailure
    exc: BaseException | None


def _qualname(cls: type) -> str:
    mod = cls.__module__
    return cls.__qualname__ if mod in ("builtins", "__main__") else f"{mod}.{cls.__qualname__}"


# ---------------------------------------------------------------------------------------
# BLAS / OpenMP thread limit, shared by all replicates running in a process
# ---------------------------------------------------------------------------------------
_LIMIT_LOCK = threading.Lock()
_LIMIT_DEPTH = 0
_LIMITER: Any = None


@contextmanager
def thread_limit(n: int | None) -> Iterator[None]:
    """Limit BLAS/OpenMP pools to ``n`` threads while any replicate in this process runs.

    Reference-counted so that concurrent chunks in one process (threaded Dask workers)
    do not restore the original limits under each other's feet; the outermost limit wins
    when calls nest.
    """
    global _LIMIT_DEPTH, _LIMITER
    if n is None:
        yield
        return
    with _LIMIT_LOCK:
        if _LIMIT_DEPTH == 0:
            from threadpoolctl import threadpool_limits
            _LIMITER = threadpool_limits(limits=n)
        _LIMIT_DEPTH += 1
    try:
        yield
    finally:
        with _LIMIT_LOCK:
            _LIMIT_DEPTH -= 1
            if _LIMIT_DEPTH == 0:
                _LIMITER.restore_original_limits()
                _LIMITER = None


# ---------------------------------------------------------------------------------------
# The task every backend runs
# ---------------------------------------------------------------------------------------
_STATE = threading.local()  # .nested: inside a replicate (of any backend) in this thread


def run_chunk(fn: Callable[..., Any], root: tuple, start: int, stop: int, args: tuple,
               kwargs: dict, errors: str, remote: bool, blas_threads: int | None) -> list:
    """Run replicates ``start .. stop-1``; failures come back as records, never raised."""
    out: list = []
    outer = getattr(_STATE, "nested", False)
    _STATE.nested = True
    try:
        with thread_limit(blas_threads):
            for i in range(start, stop):
                rng = child_rng(root, i)
                try:
                    out.append(fn(rng, *args, **kwargs))
                except Exception as exc:  # noqa: BLE001 - recorded with its index
                    failure = ReplicateFailure(i, _qualname(type(exc)), str(exc),
                                               traceback.format_exc())
                    if errors == "return":
                        out.append(failure)
                        continue
                    keep: BaseException | None = exc
                    if remote:  # bring the exception back only if it survives pickling
                        try:
                            pickle.loads(pickle.dumps(exc))
                        except Exception:  # noqa: BLE001
                            keep = None
                    out.append(Raised(failure, keep))
                    break
    finally:
        _STATE.nested = outer
    return out


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(progress: bool, total: int, desc: str) -> Any:
    if not progress:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        warnings.warn("progress=True needs tqdm (pip install tqdm); running without a "
                      "progress bar", RuntimeWarning, stacklevel=3)
        return _NoBar()
    return tqdm(total=total, desc=desc, unit="rep")


def split_chunks(n: int, size: int) -> list[tuple[int, int]]:
    return [(s, min(s + size, n)) for s in range(0, n, size)]


def chunk_size(n: int, batch_size: int | str, workers: int) -> int:
    if batch_size == "auto":
        return max(1, math.ceil(n / (_CHUNKS_PER_WORKER * max(1, workers))))
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be 'auto' or an int >= 1, got {batch_size!r}")
    return int(batch_size)


def iter_joblib(fn: Callable, root: tuple, chunks: list[tuple[int, int]], args: tuple,
                 kwargs: dict, errors: str, blas_threads: int | None,
                 n_jobs: int) -> Generator[list, None, None]:
    from joblib import Parallel, delayed

    # the data travel as task arguments, so joblib memory-maps large arrays among them
    gen = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator", batch_size=1)(
        delayed(run_chunk)(fn, root, s, e, args, kwargs, errors, True, blas_threads)
        for s, e in chunks)
    try:
        for out in gen:  # not `yield from`: that would close `gen` outside the filter
            yield out
    finally:
        # On an early stop (a failing replicate) closing aborts what is still queued.
        # joblib then warns that finished or running tasks went unused; that is the
        # intent here, and under -W error the warning would mask the replicate's error.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*tasks (have been|which were)",
                                    category=UserWarning)
            gen.close()


def iter_dask(fn: Callable, root: tuple, chunks: list[tuple[int, int]], args: tuple,
               kwargs: dict, errors: str, blas_threads: int | None,
               client: Any) -> Generator[list, None, None]:
    # ship the data once to every worker; tasks then refer to it by key
    args_f, kwargs_f = client.scatter([args, kwargs], broadcast=True, hash=False)
    futures = [client.submit(run_chunk, fn, root, s, e, args_f, kwargs_f, errors, True,
                             blas_threads, pure=False) for s, e in chunks]
    try:
        for fut in futures:  # in order, so the first failure reported is the lowest
            yield fut.result()
    finally:
        pending = [f for f in futures if not f.done()]
        if pending:  # an early stop; finished futures and the data go with their refs
            client.cancel(pending)


def dask_client(address: Any, client: Any) -> tuple[Any, bool]:
    """(client, whether we opened it and must close it)."""
    if client is not None:
        return client, False
    try:
        from distributed import Client, default_client
    except ImportError as exc:  # pragma: no cover - dask is a dependency
        raise ImportError('backend="dask" needs dask.distributed: '
                          'pip install "dask[distributed]"') from exc
    if address is not None:
        return Client(address), True
    try:
        return default_client(), False
    except ValueError:
        raise ValueError('backend="dask" needs client= (a dask.distributed.Client), '
                         'address= (a scheduler address or cluster object) or an active '
                         'Client in this session') from None


def resolve_backend(backend: str | None, address: Any, client: Any) -> str:
    if backend is None:
        if address is not None or client is not None:
            return "dask"
        # inside a replicate (a bootstrap within a simulation run): the outer level
        # already uses every worker, so the inner one runs where it is
        return "sequential" if getattr(_STATE, "nested", False) else "joblib"
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend != "dask" and (address is not None or client is not None):
        raise ValueError(f"address=/client= are for backend='dask', not {backend!r}")
    return backend
