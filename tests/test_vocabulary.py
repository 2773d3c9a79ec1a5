"""One vocabulary across the public API (docs/api-conventions.md): no public signature
uses a retired spelling, and each retired spelling still works for one minor version with
a FutureWarning naming the new one."""
from __future__ import annotations

import inspect

import pandas as pd
import pytest

import rwe_cart as rc
from rwe_cart import exposure

#: Spellings retired in 0.2.0 and their replacements.
RETIRED = {"entry": "start", "stop": "time", "treat_time": "exposure_time", "group": "by",
           "k": "suppress_below", "test": "test_col", "value": "value_col",
           "unit": "unit_col"}


def _public(kind, owners=((rc, rc.__all__), (exposure, exposure.__all__))):
    """(name, object) of every public object of that kind (inspect.isfunction, isclass)."""
    seen = {}
    for owner, names in owners:
        for name in names:
            obj = getattr(owner, name)
            if kind(obj):
                seen.setdefault(obj.__name__, obj)
    return sorted(seen.items())


def _public_functions():
    return _public(inspect.isfunction)


@pytest.mark.parametrize("name, fn", _public_functions())
def test_no_public_signature_uses_a_retired_spelling(name, fn):
    params = set(inspect.signature(fn).parameters)
    used = sorted(params & set(RETIRED))
    assert not used, f"{name} still names {used}; the vocabulary says {[RETIRED[u] for u in used]}"


def test_hsct_effect_takes_the_landmark_day_as_at():
    assert "at" in inspect.signature(rc.hsct_effect).parameters
    assert "landmark" not in inspect.signature(rc.hsct_effect).parameters


@pytest.mark.parametrize("call, new", [
    (lambda: rc.suppress_counts(pd.DataFrame({"n": [3, 9]}), k=5), "suppress_below="),
    (lambda: rc.logrank(pd.DataFrame({"t": [1, 2, 3, 4], "e": [1, 1, 0, 1],
                                      "g": ["a", "b", "a", "b"]}), "t", "e", group="g"),
     "by="),
    (lambda: rc.kaplan_meier(pd.DataFrame({"s": [0, 0], "t": [1, 2], "e": [1, 0]}), "t", "e",
                             entry="s"), "start="),
    (lambda: rc.standardise_lab_units(pd.DataFrame({"name": ["hb"], "value": [95.0],
                                                    "unit": ["g/L"]}), test="name"),
     "test_col="),
])
def test_retired_spellings_work_with_a_future_warning(call, new):
    with pytest.warns(FutureWarning, match=new):
        call()


def test_retired_and_new_spelling_together_is_an_error():
    frame = pd.DataFrame({"t": [1, 2], "e": [1, 0]})
    with pytest.raises(TypeError, match="entry= and start="):
        rc.kaplan_meier(frame, "t", "e", entry="t", start="t")


def test_old_orders_and_names_of_the_cohort_functions_still_work():
    cohort = rc.datasets.rocca_like()
    with pytest.warns(FutureWarning, match="effect_modification\\(cohort, endpoint, factor=...\\)"):
        old = exposure.effect_modification(cohort, "prior_hsct", "OS")
    new = exposure.effect_modification(cohort, "OS", factor="prior_hsct")
    pd.testing.assert_frame_equal(old.table, new.table)
    with pytest.warns(FutureWarning, match="hsct_effect\\(at=<day>\\)"):
        a = rc.hsct_effect(cohort, "PFS", methods=["landmark"], landmark=120)
    b = rc.hsct_effect(cohort, "PFS", methods=["landmark"], at=120)
    pd.testing.assert_frame_equal(a.table, b.table)


def test_options_once_positional_still_work_by_position_with_a_future_warning():
    cohort = rc.datasets.rocca_like()
    with pytest.warns(FutureWarning, match="pass methods=, at= by keyword"):
        old = rc.hsct_effect(cohort, "PFS", ["landmark"], 120)
    new = rc.hsct_effect(cohort, "PFS", methods=["landmark"], at=120)
    pd.testing.assert_frame_equal(old.table, new.table)
    with pytest.warns(FutureWarning, match="pass grace= by keyword"):
        old = exposure.ccw_cohort(cohort, "PFS", 90, n_boot=0)
    new = exposure.ccw_cohort(cohort, "PFS", grace=90, n_boot=0)
    assert (old.hr, old.lower, old.upper, old.n) == (new.hr, new.lower, new.upper, new.n)
    with pytest.raises(TypeError, match="grace by position and by keyword"):
        exposure.ccw_cohort(cohort, "PFS", 90, grace=90)
    with pytest.raises(TypeError, match="at most 4 positional"):
        exposure.ccw_cohort(cohort, "PFS", 90, (), 1)


#: What a public function may take by position after the object it works on (the order
#: rule of docs/api-conventions.md): the columns of a curve estimator or test, a formula,
#: a cohort function's endpoint; everything else is keyword-only.
POSITIONAL_AFTER_FIRST = ("formula", "time", "event", "cause", "by", "tau", "endpoint", "name")
#: Named after R mstate's functions, these keep mstate's order (msprep, expand.covs, msfit,
#: probtrans, LMAJ, ELOS); the input/output helpers take their few arguments in order.
OWN_ORDER = {"multistate_frame", "expand_covariates", "transition_hazards",
             "state_probabilities", "landmark_aalen_johansen", "length_of_stay",
             "dynamic_prediction",
             "load_adam", "load_events", "export_table", "save", "bootstrap", "repeat",
             "replicate_rng"}


@pytest.mark.parametrize("name, fn", _public(inspect.isfunction, (
    (rc, rc.__all__), (exposure, exposure.__all__), (rc.plots, rc.plots.__all__))))
def test_positional_arguments_follow_the_order_rule(name, fn):
    if name in OWN_ORDER:
        return
    params = inspect.signature(fn).parameters.values()
    positional = [p.name for p in params
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][1:]
    wrong = [p for p in positional if p not in POSITIONAL_AFTER_FIRST]
    assert not wrong, f"{name} takes {wrong} by position; the vocabulary makes them keyword-only"
    ranks = [POSITIONAL_AFTER_FIRST.index(p) for p in positional]
    assert ranks == sorted(ranks), f"{name}: positional order {positional}"


@pytest.mark.parametrize("name, cls", _public(inspect.isclass))
def test_summary_is_a_table_attribute_everywhere(name, cls):
    if "summary" in getattr(cls, "__dataclass_fields__", {}):
        return
    member = inspect.getattr_static(cls, "summary", None)
    assert member is None or isinstance(member, property), \
        f"{name}.summary is a {type(member).__name__}; the vocabulary makes it a table attribute"
