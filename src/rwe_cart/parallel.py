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
installed (the task function is rwe_cart's).

The public functions are here; the backends and the task they run are in
:mod:`rwe_cart._replicates`, the resampling and the result of :func:`bootstrap` in
:mod:`rwe_cart._bootstrap`.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, Literal, TypeVar

import numpy as np
import pandas as pd

from ._bootstrap import (CI_METHODS, BootstrapError, BootstrapResult, Resampler,
                         boot_replicate, check_ci, intervals, statistic_terms)
from ._log import logger
from ._replicates import (BACKENDS, Raised, ReplicateError, ReplicateFailure, child_rng,
                          chunk_size, dask_client, iter_dask, iter_joblib, progress_bar,
                          resolve_backend, run_chunk, seed_root, split_chunks, thread_limit)

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

T = TypeVar("T")
Seed = int | Sequence[int] | np.random.SeedSequence

# Failures listed in a BootstrapError / warning message.
_SHOW_FAILURES = 5


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
    return child_rng(seed_root(seed), int(i))


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
    backend = resolve_backend(backend, address, client)
    root = seed_root(seed)
    args = tuple(args)
    kwargs = dict(kwargs or {})
    chunk_size(1, batch_size, 1)  # validate early, whatever the backend
    if n == 0:
        return []

    results: list[Any] = [None] * n
    desc = "bootstrap" if fn is boot_replicate else getattr(fn, "__name__", "repeat")
    bar = progress_bar(progress, n, desc)
    own_client = False
    # The calling thread holds the thread limit for the whole run: it covers the
    # sequential backend and in-process (threaded) Dask workers, whose own calls OpenBLAS
    # may ignore (0.3.30 ignores set_num_threads from a non-main thread once the main
    # thread has set it); the chunks' limits then nest inside it for free.
    limit = thread_limit(blas_threads)
    try:
        if backend == "sequential":
            chunks = split_chunks(n, 1)
            chunk_iter: Generator[list, None, None] = (
                run_chunk(fn, root, s, e, args, kwargs, errors, False, blas_threads)
                for s, e in chunks)
        elif backend == "joblib":
            from joblib import effective_n_jobs

            chunks = split_chunks(n, chunk_size(n, batch_size, effective_n_jobs(n_jobs)))
            chunk_iter = iter_joblib(fn, root, chunks, args, kwargs, errors,
                                      blas_threads, n_jobs)
        else:
            client, own_client = dask_client(address, client)
            workers = sum(client.nthreads().values()) or 1
            chunks = split_chunks(n, chunk_size(n, batch_size, workers))
            chunk_iter = iter_dask(fn, root, chunks, args, kwargs, errors, blas_threads,
                                    client)
        with limit:
            try:
                for (s, _e), out in zip(chunks, chunk_iter, strict=False):
                    for j, value in enumerate(out):
                        if isinstance(value, Raised):
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


def _raise_failure(raised: Raised, n: int, seed: Any, *, remote: bool) -> None:
    f = raised.failure
    err = ReplicateError(
        f"replicate {f.replicate} (of {n}, seed={seed!r}) raised {f.error_type}: "
        f"{f.message}\nRerun it alone with fn(rc.replicate_rng({seed!r}, {f.replicate}), "
        "*args, **kwargs).", f)
    if remote:
        err.add_note("Traceback in the worker:\n" + f.traceback.rstrip())
    raise err from raised.exc


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
    check_ci(method, alpha)
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
    seed_root(seed)  # validate before computing anything

    terms, est = statistic_terms(statistic(np.arange(len(data)) if pass_rows else data))
    bad = ~np.isfinite(est)
    if bad.any():
        raise ValueError("statistic returned non-finite values on the original data for "
                         f"{[t for t, b in zip(terms, bad, strict=True) if b]}")
    resampler = Resampler.build(data, cluster)
    logger.info("bootstrap: %d replicates of %d rows (%s backend)", int(n_boot), len(data),
                backend)
    out = repeat(boot_replicate, int(n_boot), seed=seed,
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

    se, lo, hi = intervals(est, reps[ok], alpha, method)
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
