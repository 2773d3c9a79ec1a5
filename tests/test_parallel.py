"""parallel.py: same seed → same numbers on every backend; bootstrap SE, coverage, clusters.

Backends: sequential, joblib (loky, n_jobs=2) and Dask on a LocalCluster of two
single-threaded in-process workers, started once per module and closed in the fixture.

Why ``processes=False``: worker processes would each import rwe_cart (several seconds on a
2-core machine) and the cluster takes ~5 s to start; in-process workers start in
milliseconds. Dask still pickles every task (the replicate function and its arguments),
only scattered data skip serialisation; crossing a real process boundary is covered by
the joblib (loky) backend. Two worker threads in one process also exercise the shared
BLAS thread limit, which must hold while both run.

The first joblib call starts loky workers (they import rwe_cart: a few seconds, once). A
failing replicate makes joblib abort and restart its workers, so the tests that raise run
last.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from rwe_cart import _replicates
from rwe_cart.parallel import (
    BootstrapError,
    BootstrapResult,
    ReplicateError,
    ReplicateFailure,
    bootstrap,
    repeat,
    replicate_rng,
)

SEED = 20240601


# ---------------------------------------------------------------------------------------
# Fixtures and replicate functions (module level so worker processes can import them)
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    # dashboard on a free port: 8787 may be taken by another cluster on the machine
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address=":0")
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def draws(rng: np.random.Generator, k: int, scale: float = 1.0) -> np.ndarray:
    """Several kinds of draw plus a BLAS reduction (thread count changes its last bits)."""
    x = rng.normal(scale=scale, size=k)
    big = rng.standard_normal(200_000)
    return np.array([x.mean(), x.std(), rng.exponential(), rng.integers(0, 1_000_000),
                     big @ big])


def index_of(rng: np.random.Generator, sleep_first: int = 0) -> int:
    """The replicate's own index, read back from its seed; early ones finish last."""
    i = rng.bit_generator.seed_seq.spawn_key[-1]
    if i < sleep_first:
        time.sleep(0.02)
    return i


def fail_at(rng: np.random.Generator, bad: frozenset[int]) -> int:
    i = rng.bit_generator.seed_seq.spawn_key[-1]
    if i in bad:
        raise ValueError(f"singular matrix in replicate {i}")
    return i


def backends(dask_client) -> dict[str, dict]:
    return {
        "sequential": {"backend": "sequential"},
        "joblib": {"backend": "joblib", "n_jobs": 2},
        "joblib_batch1": {"backend": "joblib", "n_jobs": 2, "batch_size": 1},
        "dask": {"client": dask_client},
    }


# ---------------------------------------------------------------------------------------
# repeat: reproducibility, order, errors
# ---------------------------------------------------------------------------------------
def test_replicate_rng_is_the_spawned_stream():
    children = np.random.SeedSequence(SEED).spawn(5)
    for i, child in enumerate(children):
        expected = np.random.default_rng(child).random(4)
        np.testing.assert_array_equal(replicate_rng(SEED, i).random(4), expected)
    # a SeedSequence is used by value and not advanced
    ss = np.random.SeedSequence(7)
    first = repeat(lambda rng: rng.random(), 3, seed=ss, backend="sequential")
    assert ss.n_children_spawned == 0
    assert repeat(lambda rng: rng.random(), 3, seed=ss, backend="sequential") == first
    assert repeat(lambda rng: rng.random(), 3, seed=7, backend="sequential") == first
    # a sequence of ints is a seed too
    seq = repeat(lambda rng: rng.random(), 2, seed=[1, 2], backend="sequential")
    assert seq[1] == np.random.default_rng(np.random.SeedSequence([1, 2]).spawn(2)[1]).random()


def test_same_seed_identical_on_every_backend(dask_client):
    out = {name: np.vstack(repeat(draws, 40, seed=SEED, args=(50,), kwargs={"scale": 2.0},
                                  **kw))
           for name, kw in backends(dask_client).items()}
    ref = out["sequential"]
    assert ref.shape == (40, 5)
    for name, got in out.items():
        np.testing.assert_array_equal(got, ref, err_msg=name)  # bit for bit
    # replicate i is the same stream whatever n is
    np.testing.assert_array_equal(np.vstack(repeat(draws, 10, seed=SEED, args=(50,),
                                                   kwargs={"scale": 2.0},
                                                   backend="sequential")), ref[:10])


def test_different_seeds_differ():
    a = repeat(draws, 5, seed=1, args=(20,), backend="sequential")
    b = repeat(draws, 5, seed=2, args=(20,), backend="sequential")
    assert not np.isin(np.vstack(a)[:, 0], np.vstack(b)[:, 0]).any()
    # and replicates within one run differ from each other
    assert len(set(np.vstack(a)[:, 0])) == 5


def test_results_in_replicate_order(dask_client):
    for name, kw in backends(dask_client).items():
        got = repeat(index_of, 30, seed=SEED, kwargs={"sleep_first": 4}, **kw)
        assert got == list(range(30)), name


def test_errors_return_keeps_going(dask_client):
    bad = frozenset({3, 11})
    for name, kw in backends(dask_client).items():
        got = repeat(fail_at, 15, seed=SEED, args=(bad,), errors="return", **kw)
        for i, value in enumerate(got):
            if i in bad:
                assert isinstance(value, ReplicateFailure), name
                assert value.replicate == i and "singular" in value.message, name
                assert "fail_at" in value.traceback, name
            else:
                assert value == i, name


def test_dask_by_address_opens_and_closes_its_client(dask_client):
    address = dask_client.scheduler.address
    got = repeat(draws, 6, seed=SEED, args=(10,), address=address)
    ref = repeat(draws, 6, seed=SEED, args=(10,), backend="sequential")
    np.testing.assert_array_equal(np.vstack(got), np.vstack(ref))


def resolved_backend(rng: np.random.Generator) -> str:
    return _replicates.resolve_backend(None, None, None)


def test_nested_runs_default_to_sequential():
    assert _replicates.resolve_backend(None, None, None) == "joblib"
    assert repeat(resolved_backend, 2, seed=1, n_jobs=2) == ["sequential"] * 2
    assert repeat(resolved_backend, 2, seed=1, backend="sequential") == ["sequential"] * 2
    assert _replicates.resolve_backend(None, None, None) == "joblib"  # reset after the run


def test_progress_bar(capsys):
    repeat(draws, 5, seed=1, args=(5,), backend="sequential", progress=True)
    assert "5/5" in capsys.readouterr().err


def test_repeat_input_errors():
    with pytest.raises(TypeError, match="seed is required"):
        repeat(draws, 2, seed=None, args=(5,))
    with pytest.raises(TypeError, match="not a Generator"):
        repeat(draws, 2, seed=np.random.default_rng(1), args=(5,))
    with pytest.raises(TypeError, match="seed must be an int"):
        repeat(draws, 2, seed=-1, args=(5,))
    with pytest.raises(ValueError, match="backend must be one of"):
        repeat(draws, 2, seed=1, backend="spark")
    with pytest.raises(ValueError, match="for backend='dask'"):
        repeat(draws, 2, seed=1, backend="joblib", address="tcp://127.0.0.1:1")
    with pytest.raises(ValueError, match="n must be an int"):
        repeat(draws, -1, seed=1)
    with pytest.raises(ValueError, match="batch_size"):
        repeat(draws, 2, seed=1, batch_size=0)
    assert repeat(draws, 0, seed=1) == []


# ---------------------------------------------------------------------------------------
# bootstrap
# ---------------------------------------------------------------------------------------
def mean_x(frame: pd.DataFrame) -> float:
    return frame["x"].to_numpy().mean()


def normal_sample(n: int, sigma: float, seed: int) -> pd.DataFrame:
    return pd.DataFrame({"x": np.random.default_rng(seed).normal(10.0, sigma, n)})


def test_bootstrap_se_of_a_mean():
    n, sigma = 1000, 2.0
    data = normal_sample(n, sigma, seed=11)
    res = bootstrap(data, mean_x, 2000, seed=SEED, backend="sequential")
    assert isinstance(res, BootstrapResult)
    assert res.n_failed == 0 and res.n_boot == 2000 and res.replicates.shape == (2000, 1)
    se = res.se["statistic"]
    assert se == pytest.approx(sigma / np.sqrt(n), rel=0.10)            # the truth
    assert se == pytest.approx(data["x"].std(ddof=0) / np.sqrt(n), rel=0.05)  # plug-in
    assert res.estimate["statistic"] == data["x"].mean()
    t = res.table
    assert list(t.columns) == ["term", "estimate", "se", "lower", "upper"]
    assert t["lower"].iloc[0] < t["estimate"].iloc[0] < t["upper"].iloc[0]


def _covers(rng: np.random.Generator, n: int, n_boot: int) -> bool:
    data = pd.DataFrame({"x": rng.normal(0.0, 1.0, n)})
    seed = int(rng.integers(2**63))
    res = bootstrap(data, mean_x, n_boot, seed=seed, backend="sequential")
    return bool(res.lower.iloc[0] <= 0.0 <= res.upper.iloc[0])


def test_percentile_ci_coverage_near_95():
    # 150 samples of n=50 with known mean 0, each bootstrapped 200 times inside one of
    # repeat's replicates; percentile intervals for a mean cover about 94% at n=50
    hits = repeat(_covers, 150, seed=SEED, args=(50, 200), n_jobs=2)
    coverage = np.mean(hits)
    assert 0.88 <= coverage <= 0.99, coverage  # binomial SD ≈ 0.019 (here: 0.913)


def test_bootstrap_identical_on_every_backend(dask_client):
    data = clustered_frame(25, seed=3)
    results = {name: bootstrap(data, cluster_means, 60, seed=SEED, cluster="id", **kw)
               for name, kw in backends(dask_client).items()}
    ref = results["sequential"]
    for name, res in results.items():
        pd.testing.assert_frame_equal(res.replicates, ref.replicates, check_exact=True,
                                      obj=name)
        pd.testing.assert_frame_equal(res.table, ref.table, check_exact=True, obj=name)


def test_ci_methods():
    data = normal_sample(80, 1.0, seed=5)
    res = bootstrap(data, mean_x, 500, seed=SEED, backend="sequential", alpha=0.1)
    reps = res.replicates["statistic"].to_numpy()
    est = res.estimate["statistic"]
    lo, hi = np.quantile(reps, [0.05, 0.95])
    assert (res.lower.iloc[0], res.upper.iloc[0]) == (lo, hi)
    basic = res.ci("basic")
    assert basic["lower"].iloc[0] == pytest.approx(2 * est - hi)
    assert basic["upper"].iloc[0] == pytest.approx(2 * est - lo)
    normal = res.ci("normal", alpha=0.05)
    bias = reps.mean() - est
    assert normal["lower"].iloc[0] == pytest.approx(est - bias - 1.959963984540054
                                                    * reps.std(ddof=1))
    again = bootstrap(data, mean_x, 500, seed=SEED, backend="sequential", alpha=0.1,
                      method="basic")
    pd.testing.assert_frame_equal(again.table, basic)
    assert "percentile CI, 90%" in repr(res) and "<table" in res._repr_html_()
    with pytest.raises(ValueError, match="method must be one of"):
        res.ci("bca")


def test_statistic_with_named_terms():
    data = normal_sample(60, 1.0, seed=2)

    def stats(frame):
        x = frame["x"]
        return pd.Series({"mean": x.mean(), "median": x.median()})

    res = bootstrap(data, stats, 50, seed=1, backend="sequential")
    assert list(res.table["term"]) == ["mean", "median"]
    assert list(res.replicates.columns) == ["mean", "median"]
    arr = bootstrap(data, lambda f: f["x"].quantile([0.25, 0.75]).to_numpy(), 50, seed=1,
                    backend="sequential")
    assert list(arr.table["term"]) == ["statistic_0", "statistic_1"]


# --- clusters --------------------------------------------------------------------------
def clustered_frame(n_clusters: int, seed: int) -> pd.DataFrame:
    """Clusters of 1–6 rows with a strong cluster effect; ``row`` and ``orig`` identify
    each row and its cluster in the original data (``id`` is what gets relabelled)."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 7, n_clusters)
    ids = np.repeat([f"P{k:03d}" for k in range(n_clusters)], sizes)
    effect = np.repeat(rng.normal(0, 3, n_clusters), sizes)
    frame = pd.DataFrame({"id": ids, "orig": ids, "x": effect + rng.normal(0, 1, len(ids))})
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # interleave
    frame["row"] = np.arange(len(frame))
    return frame


def cluster_means(frame: pd.DataFrame) -> pd.Series:
    return pd.Series({"mean": frame["x"].mean(), "n_rows": float(len(frame))})


def check_intact(original: pd.DataFrame):
    """A statistic that raises unless every resampled cluster is one whole original one."""
    rows_of = original.groupby("orig")["row"].apply(lambda r: np.sort(r.to_numpy()))
    n_clusters = original["orig"].nunique()

    def statistic(frame: pd.DataFrame) -> float:
        assert frame["id"].nunique() == n_clusters            # drawn twice = two clusters
        per_label = frame.groupby("id")["orig"].agg(["nunique", "first"])
        assert (per_label["nunique"] == 1).all()               # never mixes clusters
        srt = frame.sort_values(["id", "row"])
        expected = np.concatenate([rows_of[o] for o in per_label["first"]])
        np.testing.assert_array_equal(srt["row"].to_numpy(), expected)  # whole clusters
        return frame["orig"].nunique()                         # distinct originals drawn

    return statistic


def test_cluster_bootstrap_keeps_clusters_whole():
    data = clustered_frame(30, seed=8)
    res = bootstrap(data, check_intact(data), 300, seed=SEED, cluster="id",
                    backend="sequential", max_failed=0.0)
    assert res.n_failed == 0
    distinct = res.replicates["statistic"]
    assert (distinct < 30).all()  # with replacement: some clusters come back twice
    assert distinct.mean() == pytest.approx(30 * (1 - (29 / 30) ** 30), rel=0.05)


class RowStatistic:
    """Mean of x and the number of rows, from row positions (for ``pass_rows``)."""

    def __init__(self, frame: pd.DataFrame):
        self.x = frame["x"].to_numpy()

    def __call__(self, rows: np.ndarray) -> pd.Series:
        assert rows.dtype.kind == "i" and rows.ndim == 1
        return pd.Series({"mean": self.x[rows].mean(), "n_rows": float(rows.size)})


def frame_statistic(frame: pd.DataFrame) -> pd.Series:
    return pd.Series({"mean": frame["x"].to_numpy().mean(), "n_rows": float(len(frame))})


@pytest.mark.parametrize("cluster", [None, "id"])
def test_pass_rows_gives_the_statistic_the_drawn_rows(cluster):
    """The same draws as with frames (same seed), handed over as row positions."""
    data = clustered_frame(30, seed=5)
    by_frame = bootstrap(data, frame_statistic, 80, seed=SEED, cluster=cluster,
                         backend="sequential")
    for kw in ({"backend": "sequential"}, {"backend": "joblib", "n_jobs": 2}):
        by_rows = bootstrap(data, RowStatistic(data), 80, seed=SEED, cluster=cluster,
                            pass_rows=True, **kw)
        pd.testing.assert_frame_equal(by_rows.replicates, by_frame.replicates,
                                      check_exact=True)
        pd.testing.assert_series_equal(by_rows.estimate, by_frame.estimate,
                                       check_exact=True)
    with pytest.raises(TypeError, match="pass_rows"):
        bootstrap(data, RowStatistic(data), 10, seed=1, pass_rows="yes")


def test_cluster_bootstrap_se_exceeds_row_bootstrap():
    data = clustered_frame(40, seed=4)
    by_row = bootstrap(data, mean_x, 400, seed=SEED, backend="sequential")
    by_cluster = bootstrap(data, mean_x, 400, seed=SEED, cluster="id", backend="sequential")
    assert by_cluster.se.iloc[0] > 1.5 * by_row.se.iloc[0]
    assert by_cluster.cluster == "id" and "clusters of 'id'" in repr(by_cluster)


# --- failures --------------------------------------------------------------------------
def fragile(frame: pd.DataFrame) -> float:
    """Fails when the first resampled row is row 7 or 57 (2% of replicates)."""
    if frame["row"].iloc[0] % 50 == 7:
        raise np.linalg.LinAlgError("did not converge")
    return frame["x"].mean()


def test_failed_replicates_are_counted_and_reported():
    data = normal_sample(100, 1.0, seed=9).assign(row=np.arange(100))
    n_boot = 500
    expected = [i for i in range(n_boot)
                if replicate_rng(SEED, i).integers(0, 100, size=100)[0] % 50 == 7]
    assert 3 <= len(expected) <= 20
    with pytest.warns(RuntimeWarning, match=f"{len(expected)} of 500 bootstrap replicates"):
        res = bootstrap(data, fragile, n_boot, seed=SEED, backend="sequential")
    assert res.n_failed == len(expected)
    assert list(res.failures["replicate"]) == expected
    assert (res.failures["error_type"] == "numpy.linalg.LinAlgError").all()
    assert np.flatnonzero(res.replicates["statistic"].isna()).tolist() == expected
    ok = res.replicates["statistic"].dropna()
    assert res.se.iloc[0] == ok.std(ddof=1)
    with pytest.raises(BootstrapError, match="more than max_failed=0.01") as info:
        bootstrap(data, fragile, n_boot, seed=SEED, backend="sequential", max_failed=0.01)
    assert [f.replicate for f in info.value.failures] == expected


def test_non_finite_and_mismatched_replicates_are_failures():
    data = normal_sample(30, 1.0, seed=1).assign(row=np.arange(30))

    def nan_sometimes(frame):
        return np.nan if frame["row"].iloc[0] == 7 else frame["x"].mean()

    with pytest.warns(RuntimeWarning, match="bootstrap replicates failed"):
        res = bootstrap(data, nan_sometimes, 200, seed=SEED, backend="sequential",
                        max_failed=0.2)
    assert res.n_failed > 0
    assert res.failures["message"].str.contains("non-finite").all()

    def shape_shifter(frame):
        return frame["x"].to_numpy()[: 1 + (frame["row"].iloc[0] == 7)]

    with pytest.raises(BootstrapError, match="returned terms"):
        bootstrap(data, shape_shifter, 50, seed=SEED, backend="sequential", max_failed=0.0)


def test_bootstrap_input_errors():
    data = clustered_frame(5, seed=1)
    with pytest.raises(ValueError, match="cluster column 'patient'"):
        bootstrap(data, mean_x, 10, seed=1, cluster="patient")
    with pytest.raises(ValueError, match=r"column 'id' has 1 missing values \(rows 2\)"):
        bootstrap(data.assign(id=data["id"].where(data.index != 2)), mean_x, 10, seed=1,
                  cluster="id")
    with pytest.raises(ValueError, match="non-finite values on the original data"):
        bootstrap(data, lambda f: np.nan, 10, seed=1)
    with pytest.raises(ValueError, match="n_boot must be an int >= 2"):
        bootstrap(data, mean_x, 1, seed=1)
    with pytest.raises(TypeError, match="seed is required"):
        bootstrap(data, mean_x, 10, seed=None)
    with pytest.raises(TypeError, match="DataFrame"):
        bootstrap(data["x"], mean_x, 10, seed=1)


def test_thread_limit_is_restored():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [d["num_threads"] for d in threadpoolctl.threadpool_info()]
    repeat(draws, 3, seed=1, args=(5,), backend="sequential")
    assert [d["num_threads"] for d in threadpoolctl.threadpool_info()] == before
    assert _replicates._LIMIT_DEPTH == 0


# --- runs last: a raising replicate aborts joblib's workers, which then restart --------
def test_error_names_the_lowest_failing_replicate(dask_client):
    bad = frozenset({7, 23})
    for name, kw in backends(dask_client).items():
        with pytest.raises(ReplicateError, match=r"replicate 7 \(of 30") as info:
            repeat(fail_at, 30, seed=SEED, args=(bad,), **kw)
        err = info.value
        assert err.replicate == 7 and err.failure.error_type == "ValueError", name
        assert isinstance(err.__cause__, ValueError), name
        assert "singular matrix in replicate 7" in str(err), name
