"""split_timeline (tmerge-like) and landmark_frame on hand-worked cases."""
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

import rwe_cart as rc


def test_split_two_exposures_and_ties():
    d = pd.DataFrame({"id": [1, 2, 3, 4], "time": [10.0, 8.0, 5.0, 6.0], "status": [1, 0, 1, 1],
                      "tx": [4.0, np.nan, 5.0, 0.0], "rx": [7.0, 3.0, np.nan, 2.0], "x": [1, 2, 3, 4]})
    out = rc.split_timeline(d, id="id", time="time", event="status", exposures={"a": "tx", "b": "rx"})
    got = out[["id", "start", "stop", "status", "a", "b", "x"]].values.tolist()
    assert got == [
        [1, 0, 4, 0, 0, 0, 1], [1, 4, 7, 0, 1, 0, 1], [1, 7, 10, 1, 1, 1, 1],
        [2, 0, 3, 0, 0, 0, 2], [2, 3, 8, 0, 0, 1, 2],
        [3, 0, 5, 1, 0, 0, 3],                       # exposure on the event day: unexposed
        [4, 0, 2, 0, 1, 0, 4], [4, 2, 6, 1, 1, 1, 4],  # exposure at 0: exposed throughout
    ]


def test_split_same_day_exposures_make_one_cut():
    d = pd.DataFrame({"id": [1], "time": [10.0], "e": [1], "t1": [3.0], "t2": [3.0]})
    out = rc.split_timeline(d, id="id", time="time", event="e", exposures={"a": "t1", "b": "t2"})
    assert out[["start", "stop", "a", "b"]].values.tolist() == [[0, 3, 0, 0], [3, 10, 1, 1]]


def test_split_with_delayed_entry():
    d = pd.DataFrame({"id": [1, 2], "entry": [2.0, 5.0], "time": [9.0, 7.0], "e": [1, 0], "tx": [1.0, 6.0]})
    out = rc.split_timeline(d, id="id", time="time", event="e", exposures={"a": "tx"}, start="entry")
    assert out[["id", "start", "stop", "e", "a"]].values.tolist() == [
        [1, 2, 9, 1, 1], [2, 5, 6, 0, 0], [2, 6, 7, 0, 1]]


def test_split_rejects_time_before_start():
    d = pd.DataFrame({"id": [1], "entry": [5.0], "time": [3.0], "e": [1], "tx": [np.nan]})
    with pytest.raises(ValueError, match="rows 0"):
        rc.split_timeline(d, id="id", time="time", event="e", exposures={"a": "tx"}, start="entry")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 50), st.integers(0, 1), st.one_of(st.none(), st.integers(0, 60))),
                min_size=1, max_size=30))
def test_split_preserves_follow_up_and_events(rows):
    d = pd.DataFrame(rows, columns=["time", "event", "tx"]).assign(id=range(len(rows)))
    d["tx"] = d["tx"].astype(float)
    out = rc.split_timeline(d, id="id", time="time", event="event", exposures={"a": "tx"})
    out["length"] = out.stop - out.start
    assert np.allclose(out.groupby("id")["length"].sum(), d["time"])
    assert out.groupby("id")["event"].sum().tolist() == d["event"].tolist()
    assert (out.stop > out.start).all()
    exposed_time = out.loc[out.a == 1].groupby("id")["length"].sum()
    expect = (d["time"] - d["tx"].clip(upper=d["time"])).where(d["tx"].notna(), 0)
    assert np.allclose(exposed_time.reindex(d.id, fill_value=0).to_numpy(), expect.to_numpy())


def test_landmark_matches_r_jasa_landmark30():
    from reference import load_data
    jasa = load_data("data/jasa.csv")
    expected = load_data("data/jasa_landmark30.csv")
    jasa = jasa.assign(wait=jasa["wait_time"].where(jasa["transplant"] == 1))
    lm = rc.landmark_frame(jasa, time="futime", event="fustat", exposure_time="wait", at=30)
    assert len(lm) == len(expected) == 78 and lm["exposed"].sum() == 35
    assert lm["futime"].tolist() == expected["time"].tolist()
    assert lm["exposed"].tolist() == expected["tx30"].tolist()
    assert lm.attrs["n_excluded"] + len(lm) == len(jasa)
