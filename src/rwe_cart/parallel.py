"""Repeat an analysis many times (bootstrap, simulation): same numbers on any backend.

Public: :func:`repeat`, :func:`bootstrap`, :class:`BootstrapResult`, :func:`replicate_rng`,
:class:`ReplicateFailure`, :class:`ReplicateError`, :class:`BootstrapError`.

How the numbers stay identical whatever runs them
-------------------------------------------------
* **One random stream per replicate, fixed by its index.** Replicate ``i`` gets
  ``np.random.default_rng(np.random.SeedSequence(seed).spawn(n)[i])`` — built in the worker
  from ``(entropy, spawn_key + (i,))``, so only the seed and the index travel — whatever
  worker, process or machine runs it, in whatever order. No replicate draws from a
  generator shared with another. :func:`replicate_rng` rebuilds that generator, to rerun
  replicate ``i`` alone (a failing one, say).
* **Same floating-point arithmetic everywhere.** OpenBLAS and OpenMP split reductions
  (``x @ x``, solves) differently for different thread counts, which changes the last bits.
  By default (``blas_threads=1``) every replicate runs with BLAS/OpenMP limited to one
  thread (threadpoolctl) on every backend, including the sequential one; the parallelism
  is across replicates. The limit is held by the calling thread for the whole run (which
  covers the sequential backend and in-process Dask workers: OpenBLAS 0.3.30 ignores
  ``set_num_threads`` from other threads once the main thread has set it), and set again
  in each loky worker (tasks run in its main thread). Dask worker processes run tasks in
  threads, where a limit may be ignored; they get one BLAS thread from the environment
  instead (distributed's default ``nanny.pre-spawn-environ`` sets
  ``OPENBLAS_NUM_THREADS=1``, ``OMP_NUM_THREADS=1``, ``MKL_NUM_THREADS=1``) — keep that
  default on a cluster for bit-identical numbers. ``blas_threads=None`` leaves the pools
  alone (faster for a BLAS-heavy statistic run sequentially, but bit-identity across
  backends is then not promised).
* **Results come back in replicate order**, and with ``errors="raise"`` the replicate
  reported is the lowest-numbered one that failed, whatever finished first.

How work is shipped
-------------------
Replicates are grouped into contiguous chunks (``batch_size`` replicates per task;
``"auto"`` makes about eight chunks per worker, for load balance and a smooth progress
bar). ``args``/``kwargs`` — put the data there, not in a closure — travel once per chunk
with joblib (loky pickles a task once; numpy arrays above 1 MB, including a DataFrame's
columns, are memory-mapped instead, read-only) and once per worker with Dask
(``client.scatter(..., broadcast=True)``). Dask is imported
only when used, so ``import rwe_cart`` stays fast; Dask workers need ``rwe_cart``
installed (the task function lives here).
"""
from __future__ import annotations

import math
import pickle
import threading
import traceback
import warnings
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd
from scipy.special import ndtri

from ._log import logger

__all__ = [
    "BACKENDS",
    "CI_METHODS",
    "BootstrapError",
    "BootstrapResult",
    "ReplicateError",
    "ReplicateFailure",
    "bootstrap",
    "repeat",
    "replicate_rng",
]

BACKENDS = ("sequential", "joblib", "dask")
CI_METHODS = ("percentile", "basic", "normal")

T = TypeVar("T")
Seed = int | Sequence[int] | np.random.SeedSequence

# "auto" batch size: about this many chunks per worker.
_CHUNKS_PER_WORKER = 8
# Failures listed in a BootstrapError / warning message.
_SHOW_FAILURES = 5


# ---------------------------------------------------------------------------------------
# Seeds
# ---------------------------------------------------------------------------------------
def _root(seed: Any) -> tuple[Any, tuple[int, ...], int]:
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


def _child_rng(root: tuple[Any, tuple[int, ...], int], i: int) -> np.random.Generator:
    entropy, spawn_key, pool_size = root
    ss = np.random.SeedSequence(entropy, spawn_key=(*spawn_key, i), pool_size=pool_size)
    return np.random.Generator(np.random.PCG64(ss))


def replicate_rng(seed: Seed, i: int) -> np.random.Generator:
    """The generator that replicate ``i`` of ``repeat(..., seed=seed)`` receives.

    Equal to ``np.random.default_rng(np.random.SeedSequence(seed).spawn(n)[i])`` for any
    ``n > i``; use it to rerun one replicate alone, e.g. the one a
    :class:`ReplicateError` names: ``fn(rc.replicate_rng(seed, 17), *args)``.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> draws = rc.repeat(lambda rng: rng.integers(1000), 5, seed=7, backend="sequential")
    >>> rng = rc.replicate_rng(7, 3)
    >>> bool(rng.integers(1000) == draws[3])
    True
    """
    if isinstance(i, bool) or not isinstance(i, int | np.integer) or i < 0:
        raise ValueError(f"replicate index must be an int >= 0, got {i!r}")
    return _child_rng(_root(seed), int(i))


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


class BootstrapError(RuntimeError):
    """Too many bootstrap replicates failed; ``.failures`` lists them.

    Examples
    --------
    >>> import numpy as np, pandas as pd, rwe_cart as rc
    >>> df = pd.DataFrame({"x": np.arange(10.0)})
    >>> def fragile(d):
    ...     if d["x"].max() < 9:
    ...         raise ValueError("the largest value was not drawn")
    ...     return d["x"].mean()
    >>> try:
    ...     rc.bootstrap(df, fragile, 50, seed=1, backend="sequential")
    ... except rc.BootstrapError as error:
    ...     print(len(error.failures) > 0)
    True
    """

    def __init__(self, message: str, failures: list[ReplicateFailure]):
        super().__init__(message)
        self.failures = failures


@dataclass(frozen=True, eq=False)
class _Raised:
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
def _thread_limit(n: int | None) -> Iterator[None]:
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


def _run_chunk(fn: Callable[..., Any], root: tuple, start: int, stop: int, args: tuple,
               kwargs: dict, errors: str, remote: bool, blas_threads: int | None) -> list:
    """Run replicates ``start .. stop-1``; failures come back as records, never raised."""
    out: list = []
    outer = getattr(_STATE, "nested", False)
    _STATE.nested = True
    try:
        with _thread_limit(blas_threads):
            for i in range(start, stop):
                rng = _child_rng(root, i)
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
                    out.append(_Raised(failure, keep))
                    break
    finally:
        _STATE.nested = outer
    return out


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(progress: bool, total: int, desc: str) -> Any:
    if not progress:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        warnings.warn("progress=True needs tqdm (pip install tqdm); running without a "
                      "progress bar", RuntimeWarning, stacklevel=3)
        return _NoBar()
    return tqdm(total=total, desc=desc, unit="rep")


def _chunks(n: int, size: int) -> list[tuple[int, int]]:
    return [(s, min(s + size, n)) for s in range(0, n, size)]


def _chunk_size(n: int, batch_size: int | str, workers: int) -> int:
    if batch_size == "auto":
        return max(1, math.ceil(n / (_CHUNKS_PER_WORKER * max(1, workers))))
    if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be 'auto' or an int >= 1, got {batch_size!r}")
    return int(batch_size)


def _iter_joblib(fn: Callable, root: tuple, chunks: list[tuple[int, int]], args: tuple,
                 kwargs: dict, errors: str, blas_threads: int | None,
                 n_jobs: int) -> Generator[list, None, None]:
    from joblib import Parallel, delayed

    # the data travel as task arguments, so joblib memory-maps large arrays among them
    gen = Parallel(n_jobs=n_jobs, backend="loky", return_as="generator", batch_size=1)(
        delayed(_run_chunk)(fn, root, s, e, args, kwargs, errors, True, blas_threads)
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


def _iter_dask(fn: Callable, root: tuple, chunks: list[tuple[int, int]], args: tuple,
               kwargs: dict, errors: str, blas_threads: int | None,
               client: Any) -> Generator[list, None, None]:
    # ship the data once to every worker; tasks then refer to it by key
    args_f, kwargs_f = client.scatter([args, kwargs], broadcast=True, hash=False)
    futures = [client.submit(_run_chunk, fn, root, s, e, args_f, kwargs_f, errors, True,
                             blas_threads, pure=False) for s, e in chunks]
    try:
        for fut in futures:  # in order, so the first failure reported is the lowest
            yield fut.result()
    finally:
        pending = [f for f in futures if not f.done()]
        if pending:  # an early stop; finished futures and the data go with their refs
            client.cancel(pending)


def _dask_client(address: Any, client: Any) -> tuple[Any, bool]:
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


def _resolve_backend(backend: str | None, address: Any, client: Any) -> str:
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


def repeat(fn: Callable[..., T], n: int, *, seed: Seed, args: Sequence[Any] = (),
           kwargs: Mapping[str, Any] | None = None,
           backend: Literal["sequential", "joblib", "dask"] | None = None,
           n_jobs: int = -1, address: Any = None, client: Any = None,
           progress: bool = False, batch_size: int | Literal["auto"] = "auto",
           errors: Literal["raise", "return"] = "raise",
           blas_threads: int | None = 1) -> list[T]:
    """Call ``fn(rng, *args, **kwargs)`` ``n`` times, each with its own random stream.

    Parameters
    ----------
    fn : callable
        ``fn(rng, *args, **kwargs)``; ``rng`` is a ``numpy.random.Generator`` and must
        be the only source of randomness. It must pickle (cloudpickle: lambdas and closures
        work) for the process backends; pass large data through ``args``, not a closure,
        so it is shipped once rather than with every task.
    n : int
        Number of replicates (>= 0).
    seed : int, sequence of int or numpy.random.SeedSequence
        Replicate ``i`` gets ``np.random.default_rng(SeedSequence(seed).spawn(n)[i])``.
        A SeedSequence is used by value (children counted from 0; it is not advanced).
    args, kwargs
        Passed to every call after ``rng``. Treat them as read-only: joblib workers get
        large arrays memory-mapped read-only, and Dask workers share one copy between
        tasks; copy before modifying.
    backend : {"sequential", "joblib", "dask"}, optional
        Default: ``"dask"`` when ``address`` or ``client`` is given, else ``"joblib"``
        (loky processes) — or ``"sequential"`` when called inside another run's replicate
        (e.g. a bootstrap within each replicate of a simulation), so nested runs do not
        start pools of their own.
    n_jobs : int
        joblib workers (-1: all cores). Ignored by the other backends.
    address : str or cluster, optional
        Dask scheduler address (or a ``LocalCluster``); a client is opened and closed here.
    client : dask.distributed.Client, optional
        An existing client (left open). With ``backend="dask"`` and neither given, the
        session's default client is used.
    progress : bool
        Show a tqdm progress bar (counts replicates as chunks finish).
    batch_size : int or "auto"
        Replicates per task; ``"auto"`` makes about eight tasks per worker.
    errors : {"raise", "return"}
        ``"raise"``: the first failing replicate (lowest index) raises
        :class:`ReplicateError`, naming it. ``"return"``: a failing replicate's slot
        holds a :class:`ReplicateFailure` and the run goes on.
    blas_threads : int or None
        BLAS/OpenMP threads while a replicate runs (1: results bit-identical across
        backends and worker counts; None: leave the thread pools alone).

    Returns
    -------
    list
        ``n`` results in replicate order.

    Notes
    -----
    The same ``seed`` gives the same results on every backend and any number of workers,
    provided ``fn`` draws only from ``rng``.

    Examples
    --------
    >>> import numpy as np, rwe_cart as rc
    >>> means = rc.repeat(lambda rng, k: rng.normal(size=k).mean(), 4, seed=1, args=(10,),
    ...                   backend="sequential")
    >>> np.round(means, 3)
    array([-0.035,  0.318,  0.411, -0.085])
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    n = int(n)
    if errors not in ("raise", "return"):
        raise ValueError(f"errors must be 'raise' or 'return', got {errors!r}")
    if blas_threads is not None and (isinstance(blas_threads, bool) or blas_threads < 1):
        raise ValueError(f"blas_threads must be an int >= 1 or None, got {blas_threads!r}")
    backend = _resolve_backend(backend, address, client)
    root = _root(seed)
    args = tuple(args)
    kwargs = dict(kwargs or {})
    _chunk_size(1, batch_size, 1)  # validate early, whatever the backend
    if n == 0:
        return []

    results: list[Any] = [None] * n
    desc = "bootstrap" if fn is _boot_replicate else getattr(fn, "__name__", "repeat")
    bar = _progress_bar(progress, n, desc)
    own_client = False
    # The calling thread holds the thread limit for the whole run: it covers the
    # sequential backend and in-process (threaded) Dask workers, whose own calls OpenBLAS
    # may ignore (0.3.30 ignores set_num_threads from a non-main thread once the main
    # thread has set it); the chunks' limits then nest inside it for free.
    limit = _thread_limit(blas_threads)
    try:
        if backend == "sequential":
            chunks = _chunks(n, 1)
            chunk_iter: Generator[list, None, None] = (
                _run_chunk(fn, root, s, e, args, kwargs, errors, False, blas_threads)
                for s, e in chunks)
        elif backend == "joblib":
            from joblib import effective_n_jobs

            chunks = _chunks(n, _chunk_size(n, batch_size, effective_n_jobs(n_jobs)))
            chunk_iter = _iter_joblib(fn, root, chunks, args, kwargs, errors,
                                      blas_threads, n_jobs)
        else:
            client, own_client = _dask_client(address, client)
            workers = sum(client.nthreads().values()) or 1
            chunks = _chunks(n, _chunk_size(n, batch_size, workers))
            chunk_iter = _iter_dask(fn, root, chunks, args, kwargs, errors, blas_threads,
                                    client)
        with limit:
            try:
                for (s, _e), out in zip(chunks, chunk_iter, strict=False):
                    for j, value in enumerate(out):
                        if isinstance(value, _Raised):
                            _raise_failure(value, n, seed,
                                           remote=backend != "sequential")
                        results[s + j] = value
                    bar.update(len(out))
            finally:
                chunk_iter.close()  # stop what is still queued after an early exit
    finally:
        bar.close()
        if own_client:
            client.close()
    return results


def _raise_failure(raised: _Raised, n: int, seed: Any, *, remote: bool) -> None:
    f = raised.failure
    err = ReplicateError(
        f"replicate {f.replicate} (of {n}, seed={seed!r}) raised {f.error_type}: "
        f"{f.message}\nRerun it alone with fn(rc.replicate_rng({seed!r}, {f.replicate}), "
        "*args, **kwargs).", f)
    if remote:
        err.add_note("Traceback in the worker:\n" + f.traceback.rstrip())
    raise err from raised.exc


# ---------------------------------------------------------------------------------------
# Bootstrap
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Resampler:
    """Draws row positions for one bootstrap sample (rows, or whole clusters)."""

    n: int
    cluster: str | None = None
    order: np.ndarray | None = None    # row positions sorted by cluster
    starts: np.ndarray | None = None   # first position in `order` of each cluster
    sizes: np.ndarray | None = None    # rows per cluster

    @classmethod
    def build(cls, data: pd.DataFrame, cluster: str | None) -> _Resampler:
        if cluster is None:
            return cls(len(data))
        codes, _ = pd.factorize(data[cluster], sort=False)
        order = np.argsort(codes, kind="stable")
        sizes = np.bincount(codes)
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        return cls(len(data), cluster, order, starts, sizes)

    def draw(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
        """(row positions, new cluster labels or None)."""
        if self.cluster is None:
            return rng.integers(0, self.n, size=self.n), None
        g = len(self.sizes)
        drawn = rng.integers(0, g, size=g)
        sz = self.sizes[drawn]
        ends = np.cumsum(sz)
        within = np.arange(ends[-1]) - np.repeat(ends - sz, sz)
        rows = self.order[np.repeat(self.starts[drawn], sz) + within]
        # each draw is a new cluster: one drawn twice counts as two
        return rows, np.repeat(np.arange(g), sz)


def _terms(value: Any) -> tuple[list[str], np.ndarray]:
    """Term names and float values of a statistic's output."""
    if isinstance(value, Mapping):
        value = pd.Series(value)
    if isinstance(value, pd.Series):
        terms = [str(t) for t in value.index]
        if len(set(terms)) != len(terms):
            raise ValueError(f"statistic returned a Series with duplicate labels {terms}")
        return terms, value.to_numpy(dtype=np.float64)
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return ["statistic"], arr.reshape(1)
    if arr.ndim == 1:
        return [f"statistic_{j}" for j in range(arr.size)], arr
    raise TypeError(f"statistic must return a number, a 1-D array or a pandas Series; "
                    f"got an array of shape {arr.shape}")


def _conform(value: Any, terms: list[str]) -> np.ndarray:
    got, values = _terms(value)
    if got != terms:
        raise ValueError(f"statistic returned terms {got}, but on the original data "
                         f"{terms}")
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError("statistic returned non-finite values for "
                         f"{[t for t, b in zip(terms, bad, strict=True) if b]}")
    return values


def _boot_replicate(rng: np.random.Generator, data: pd.DataFrame | None,
                    statistic: Callable[[Any], Any], resampler: _Resampler,
                    terms: list[str]) -> np.ndarray:
    """One replicate: the statistic of a resampled frame, or of the drawn row positions
    when `data` is None (``pass_rows``)."""
    rows, labels = resampler.draw(rng)
    if data is None:
        return _conform(statistic(rows), terms)
    frame = data.take(rows)
    frame.index = pd.RangeIndex(len(rows))  # a fresh index, without copying the frame
    if labels is not None:
        frame[resampler.cluster] = labels
    return _conform(statistic(frame), terms)


def _intervals(estimate: np.ndarray, reps: np.ndarray, alpha: float,
               method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(se, lower, upper) from the successful replicates (rows)."""
    se = reps.std(axis=0, ddof=1)
    if method == "normal":
        # boot::norm.ci: bias-corrected, t0 - bias -/+ z * se
        bias = reps.mean(axis=0) - estimate
        z = ndtri(1.0 - alpha / 2.0)
        return se, estimate - bias - z * se, estimate - bias + z * se
    q_lo, q_hi = np.quantile(reps, [alpha / 2.0, 1.0 - alpha / 2.0], axis=0)
    if method == "percentile":
        return se, q_lo, q_hi
    return se, 2.0 * estimate - q_hi, 2.0 * estimate - q_lo  # basic


def _check_ci(method: str, alpha: float) -> None:
    if method not in CI_METHODS:
        raise ValueError(f"method must be one of {CI_METHODS}, got {method!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, float | int) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")


@dataclass(frozen=True, eq=False)  # eq=False: DataFrames do not compare to a bool
class BootstrapResult:
    """Nonparametric bootstrap of a statistic.

    Attributes
    ----------
    estimate : pandas.Series
        The statistic on the original data, indexed by term.
    replicates : pandas.DataFrame
        ``n_boot`` rows (index ``replicate``) × one column per term; rows of failed
        replicates are NaN.
    se : pandas.Series
        Standard deviation of the successful replicates (ddof=1, as R's boot).
    lower, upper : pandas.Series
        Confidence limits by ``method`` at level ``1 - alpha``.
    n_boot, seed, n_failed, alpha, method, cluster
        The run: replicates asked for, seed, how many failed, CI level and method, the
        cluster column resampled (None: rows).
    failures : pandas.DataFrame
        ``replicate, error_type, message, traceback`` of each failed replicate.

    ``.table`` gives ``term, estimate, se, lower, upper``; ``.ci(method, alpha)`` the same
    table for another interval without resampling again.

    Examples
    --------
    >>> import numpy as np, pandas as pd, rwe_cart as rc
    >>> df = pd.DataFrame({"x": np.arange(20.0)})
    >>> res = rc.bootstrap(df, lambda d: d["x"].mean(), 200, seed=1, backend="sequential")
    >>> res.n_boot, res.n_failed, res.method
    (200, 0, 'percentile')
    >>> res.table.round(2)
            term  estimate    se  lower  upper
    0  statistic       9.5  1.23    7.1  11.65
    """

    estimate: pd.Series
    replicates: pd.DataFrame
    se: pd.Series
    lower: pd.Series
    upper: pd.Series
    n_boot: int
    seed: Any
    n_failed: int
    alpha: float = 0.05
    method: str = "percentile"
    cluster: str | None = None
    failures: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["replicate", "error_type", "message", "traceback"]))

    @property
    def table(self) -> pd.DataFrame:
        """``term, estimate, se, lower, upper``, one row per term."""
        return pd.DataFrame({
            "term": self.estimate.index.astype(str),
            "estimate": self.estimate.to_numpy(),
            "se": self.se.to_numpy(),
            "lower": self.lower.to_numpy(),
            "upper": self.upper.to_numpy(),
        })

    def ci(self, method: str | None = None, alpha: float | None = None) -> pd.DataFrame:
        """The ``.table`` for another interval ``method`` and/or ``alpha``."""
        method = self.method if method is None else method
        alpha = self.alpha if alpha is None else alpha
        _check_ci(method, alpha)
        reps = self.replicates.dropna().to_numpy()
        se, lo, hi = _intervals(self.estimate.to_numpy(), reps, alpha, method)
        table = self.table
        table["se"], table["lower"], table["upper"] = se, lo, hi
        return table

    def _header(self) -> str:
        unit = f"clusters of {self.cluster!r}" if self.cluster else "rows"
        return (f"Bootstrap ({unit}): {self.n_boot} replicates, {self.n_failed} failed, "
                f"seed={self.seed!r}; {self.method} CI, "
                f"{100 * (1 - self.alpha):g}%")

    def __repr__(self) -> str:
        return f"{self._header()}\n{self.table.to_string(index=False)}"

    def _repr_html_(self) -> str:
        return (f"<p>{self._header()}</p>"
                + self.table.to_html(index=False, float_format="{:.4g}".format))


def bootstrap(data: pd.DataFrame, statistic: Callable[[pd.DataFrame], Any], n_boot: int,
              *, seed: Seed, cluster: str | None = None, alpha: float = 0.05,
              method: Literal["percentile", "basic", "normal"] = "percentile",
              max_failed: float = 0.05,
              backend: Literal["sequential", "joblib", "dask"] | None = None,
              n_jobs: int = -1, address: Any = None, client: Any = None,
              progress: bool = False, batch_size: int | Literal["auto"] = "auto",
              blas_threads: int | None = 1, pass_rows: bool = False) -> BootstrapResult:
    """Nonparametric bootstrap of ``statistic(data)``, resampling rows or whole clusters.

    Parameters
    ----------
    data : pandas.DataFrame
        The original sample, one row per unit (or several rows per ``cluster``).
    statistic : callable
        ``statistic(frame)`` -> a number, a 1-D array or a pandas Series (its labels name
        the terms). Every replicate must return the same terms as the original data.
        The resampled frame has a fresh RangeIndex. With ``pass_rows=True``,
        ``statistic(rows)`` instead.
    n_boot : int
        Number of bootstrap replicates (>= 2).
    seed
        As in :func:`repeat`: replicate ``i`` draws from
        ``SeedSequence(seed).spawn(n_boot)[i]``,
        so results are identical on every backend.
    cluster : str, optional
        Column identifying clusters (e.g. patient id in a counting-process frame, or
        clones in clone–censor–weight). Whole clusters are drawn with replacement (as many
        as there are); all rows of a drawn cluster come together, and the column is
        relabelled ``0 .. G-1`` by draw, so a cluster drawn twice counts as two clusters.
    alpha : float
        1 − confidence level.
    method : {"percentile", "basic", "normal"}
        Interval, as in R's ``boot.ci`` (see Notes).
    max_failed : float
        Largest fraction of replicates allowed to fail (raise, or return non-finite or
        differently-named values); more raises :class:`BootstrapError`. Any failure at
        all is reported with a ``RuntimeWarning`` and in ``.n_failed``/``.failures``;
        summaries use the replicates that succeeded.
    backend, n_jobs, address, client, progress, batch_size, blas_threads
        As in :func:`repeat`.
    pass_rows : bool
        Give `statistic` the drawn row positions (a 1-D integer array into `data`, the
        rows of a cluster drawn twice appearing twice) instead of a resampled frame; on
        the original data it gets ``arange(len(data))``. For statistics that work on
        arrays prepared once, e.g. :func:`rwe_cart.cox_coef`, this skips
        building a data frame per replicate. The cluster column is then not relabelled.

    Returns
    -------
    BootstrapResult

    Notes
    -----
    Percentile: quantiles ``alpha/2``, ``1 - alpha/2`` of the replicates, numpy's default
    (linear, R's ``quantile`` type 7); R's ``boot.ci`` interpolates at order statistic
    ``(R + 1) alpha`` instead, which differs by O(1/R). Basic: ``2 t0 - q(1 - alpha/2)``,
    ``2 t0 - q(alpha/2)``. Normal: bias-corrected, ``t0 - bias -/+ z se`` with
    ``bias = mean(t*) - t0``, as ``boot::norm.ci``. ``se`` uses ddof=1.

    References
    ----------
    .. [1] Davison AC, Hinkley DV. Bootstrap Methods and their Application.
           Cambridge University Press; 1997. (Ch. 3.8 for clustered data, Ch. 5 for
           intervals.)

    Examples
    --------
    >>> import numpy as np, pandas as pd, rwe_cart as rc
    >>> df = pd.DataFrame({"x": np.arange(20.0)})
    >>> res = rc.bootstrap(df, lambda d: d["x"].mean(), 200, seed=1, backend="sequential")
    >>> res.table.round(2)
            term  estimate    se  lower  upper
    0  statistic       9.5  1.23    7.1  11.65
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if len(data) == 0:
        raise ValueError("data has no rows to resample")
    if not callable(statistic):
        raise TypeError(f"statistic must be callable, got {type(statistic).__name__}")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 2:
        raise ValueError(f"n_boot must be an int >= 2, got {n_boot!r}")
    _check_ci(method, alpha)
    if isinstance(max_failed, bool) or not 0 <= max_failed <= 1:
        raise ValueError(f"max_failed must be a fraction in [0, 1], got {max_failed!r}")
    if cluster is not None:
        if cluster not in data.columns:
            raise ValueError(f"cluster column {cluster!r} is not in data")
        missing = np.flatnonzero(data[cluster].isna().to_numpy())
        if missing.size:
            raise ValueError(f"column {cluster!r} has {missing.size} missing values "
                             f"(rows {', '.join(map(str, missing[:5]))}"
                             f"{', ...' if missing.size > 5 else ''}); every row needs "
                             "a cluster")
    if not isinstance(pass_rows, bool | np.bool_):
        raise TypeError(f"pass_rows must be True or False, got {pass_rows!r}")
    _root(seed)  # validate before computing anything

    terms, est = _terms(statistic(np.arange(len(data)) if pass_rows else data))
    bad = ~np.isfinite(est)
    if bad.any():
        raise ValueError("statistic returned non-finite values on the original data for "
                         f"{[t for t, b in zip(terms, bad, strict=True) if b]}")
    resampler = _Resampler.build(data, cluster)
    logger.info("bootstrap: %d replicates of %d rows (%s backend)", int(n_boot), len(data),
                backend)
    out = repeat(_boot_replicate, int(n_boot), seed=seed,
                 args=(None if pass_rows else data, statistic, resampler, terms),
                 backend=backend,
                 n_jobs=n_jobs, address=address, client=client, progress=progress,
                 batch_size=batch_size, errors="return", blas_threads=blas_threads)

    failures = [r for r in out if isinstance(r, ReplicateFailure)]
    reps = np.full((n_boot, len(terms)), np.nan)
    ok = np.array([not isinstance(r, ReplicateFailure) for r in out])
    if ok.any():
        reps[ok] = np.vstack([r for r in out if not isinstance(r, ReplicateFailure)])
    n_failed = len(failures)
    if n_failed:
        shown = "\n  ".join(str(f) for f in failures[:_SHOW_FAILURES])
        more = f"\n  ... and {n_failed - _SHOW_FAILURES} more" \
            if n_failed > _SHOW_FAILURES else ""
        head = (f"{n_failed} of {n_boot} bootstrap replicates failed "
                f"({100 * n_failed / n_boot:.1f}%)")
        logger.warning("bootstrap: %s", head)
        if n_failed > max_failed * n_boot or int(ok.sum()) < 2:
            raise BootstrapError(f"{head}, more than max_failed={max_failed:g} allows:\n  "
                                 f"{shown}{more}", failures)
        warnings.warn(f"{head}; se and limits use the {int(ok.sum())} that succeeded "
                      f"(see .failures):\n  {shown}{more}", RuntimeWarning, stacklevel=2)

    se, lo, hi = _intervals(est, reps[ok], alpha, method)
    index = pd.Index(terms, name="term")
    return BootstrapResult(
        estimate=pd.Series(est, index=index, name="estimate"),
        replicates=pd.DataFrame(reps, columns=index,
                                index=pd.RangeIndex(n_boot, name="replicate")),
        se=pd.Series(se, index=index, name="se"),
        lower=pd.Series(lo, index=index, name="lower"),
        upper=pd.Series(hi, index=index, name="upper"),
        n_boot=int(n_boot), seed=seed, n_failed=n_failed, alpha=float(alpha),
        method=method, cluster=cluster,
        failures=pd.DataFrame(
            [(f.replicate, f.error_type, f.message, f.traceback) for f in failures],
            columns=["replicate", "error_type", "message", "traceback"]),
    )
