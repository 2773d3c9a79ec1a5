"""Dynamic prediction of transplant strategies on the CAR-T pathway (Markov Cox and
landmark Aalen–Johansen): :func:`dynamic_prediction` and :class:`DynamicPrediction`.
Public through :mod:`rwe_cart.exposure`.
"""
from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from ..survival.multistate import (TRANSITIONS_ATTR, StateProbabilities, TransitionHazards,
                                   Transitions, landmark_aalen_johansen, length_of_stay,
                                   state_probabilities)
from ._ms_cox import MultistateCox, _cox, _hazards
from ._ms_pathway import _REMISSION, STATES, CartMultistate

#: The three transplant strategies of the dynamic prediction.
STRATEGIES = ("transplant at s", "not yet", "never")
# Landmark contrasts are bootstrapped only when every starting group has this many patients.
_LANDMARK_BOOT_MIN = 10
_OUTCOMES = {"alive in remission": _REMISSION, "alive after relapse": ("relapse",),
             "dead": ("death",)}


ASSUMPTIONS = {
    "markov": "Markov Cox: transition hazards depend on time since infusion and the "
              "profile only (not on the time spent in a state nor on time since HSCT); "
              "proportional hazards within each transition.",
    "transplant at s": "Transplant at s starts the patient in 'hsct' at s: the hazards "
                       "after HSCT are those of patients transplanted at any time, read on "
                       "the time-since-infusion clock.",
    "never": "Never removes the remission -> hsct transition: untransplanted patients' "
             "relapse and death hazards stand for what transplanted patients would have had "
             "without HSCT, i.e. no unmeasured confounding of the transplant decision given "
             "the profile's covariates.",
    "landmark": "Landmark Aalen–Johansen: no Markov assumption and no model, but no "
                "covariates either — the patients in the state at s as a whole; 'transplant "
                "at s' is the patients already transplanted by s, 'never' censors at HSCT "
                "(independent censoring, i.e. no confounding by indication).",
    "bootstrap": "Intervals: nonparametric bootstrap over patients (percentile), refitting "
                 "the Cox model (Markov) or recomputing the landmark estimates on each "
                 "resample.",
}


def _at(times: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Right-continuous step function (times, values[i]) at grid (first value before)."""
    i = np.searchsorted(times, grid, side="right") - 1
    return values[np.clip(i, 0, None)]


def _markov_keys(*strategies: str) -> str:
    """The assumptions (keys of ``ASSUMPTIONS``) of Markov numbers of these strategies."""
    return ", ".join(["markov", *(g for g in ("transplant at s", "never") if g in strategies)])


def _grid(s: float, span: float, step: float, horizons: Sequence[float]) -> np.ndarray:
    """s, s + step, ... up to s + span, and s + each horizon and s + span exactly."""
    return s + np.unique(np.concatenate([np.arange(0.0, span, step), horizons, [span]]))


def _strategy_probs(hz: TransitionHazards, s: float, variance: bool
                    ) -> dict[str, StateProbabilities]:
    tr = hz.transitions
    k = int(np.flatnonzero((tr.tfrom == STATES.index("remission"))
                           & (tr.tto == STATES.index("hsct")))[0])
    cum = hz.cumhaz.copy()
    cum[:, k] = 0.0
    cov = hz.cov.copy()
    cov[:, k, :] = 0.0
    cov[:, :, k] = 0.0
    never = replace(hz, cumhaz=cum, cov=cov)
    pt = state_probabilities(hz, predt=s, direction="forward", variance=variance)
    return {"transplant at s": (pt, "hsct"), "not yet": (pt, "remission"),
            "never": (state_probabilities(never, predt=s, direction="forward",
                                          variance=variance), "remission")}


def _outcomes(pt: StateProbabilities, start: str, grid: np.ndarray) -> dict[str, np.ndarray]:
    a = STATES.index(start)
    out = {}
    for name, states in _OUTCOMES.items():
        cols = [STATES.index(x) for x in states]
        out[name] = _at(pt.times, pt.probability[:, a, cols].sum(axis=1), grid)
    return out


def _rmtr(pt: StateProbabilities, start: str, s: float, tau: float) -> float:
    """Restricted mean time alive in remission over (s, s + tau] (days): the expected
    length of stay in the remission states (``pt`` is forward from s)."""
    los = length_of_stay(pt, s + tau, start).table
    return float(los.loc[los["state"].isin(_REMISSION), "length_of_stay"].sum())


def _contrasts(res: dict[str, tuple[StateProbabilities, str]], s: float,
               horizons: Sequence[float], tau: float) -> dict[str, float]:
    free = {g: _outcomes(pt, st, s + np.asarray(horizons, float))["alive in remission"]
            for g, (pt, st) in res.items()}
    rm = {g: _rmtr(pt, st, s, tau) for g, (pt, st) in res.items()}
    out = {}
    for a, b in (("transplant at s", "never"), ("transplant at s", "not yet"),
                 ("not yet", "never")):
        for h, d in zip(horizons, free[a] - free[b]):
            out[f"{a} vs {b}|alive in remission at s + {h:g} days (risk difference)"] = d
        out[f"{a} vs {b}|restricted mean days alive in remission over (s, s + {tau:g}]"] = \
            rm[a] - rm[b]
    return out


@dataclass(frozen=True, eq=False)
class DynamicPrediction:
    """Predictions for patients in remission at day s under three transplant strategies.

    Attributes
    ----------
    table : pandas.DataFrame
        ``profile, s, method, strategy, time, outcome, probability, n_at_s,
        assumptions``: ``time`` in days
        from infusion (s + the horizon grid); ``outcome`` one of "alive in remission"
        (``remission`` or ``hsct``), "alive after relapse", "dead"; ``method`` "markov
        cox" (for the profile) or "landmark AJ" (profile "all in the state at s", with
        ``n_at_s`` the patients in the starting state at s; NaN for the Markov rows);
        ``assumptions`` the keys of ``assumptions`` each number rests on.
    contrasts : pandas.DataFrame
        ``profile, s, method, contrast, measure, estimate, lower, upper, se,
        assumptions``: risk differences of being alive in remission at s + each horizon
        and differences in restricted mean time alive in remission, with bootstrap
        intervals for the Markov Cox version.
    assumptions : dict
        Key -> the assumption in words; the ``assumptions`` column names the keys each
        number rests on.
    meta : dict
        ``n_failed`` (bootstrap replicates that failed) and ``landmark_skipped`` (the
        landmark estimates not made: nobody in the starting state at s). When nobody in
        it at s leaves it afterwards, the landmark estimate keeps them all there.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> ms = rc.datasets.rocca_like().multistate()
    >>> dp = ms.dynamic_prediction({"age 40": {"age": 40.0}}, s=100, covariates=["age"],
    ...                            landmark=False)
    >>> dp.horizons, dp.tau, dp.n_boot
    ((365.0, 730.0), 730.0, 0)
    >>> rm = dp.contrasts[dp.contrasts["measure"].str.startswith("restricted mean")]
    >>> print(rm[["contrast", "estimate"]].round(1).to_string(index=False))
                      contrast  estimate
      transplant at s vs never     135.5
    transplant at s vs not yet     118.6
              not yet vs never      16.8
    """

    table: pd.DataFrame
    contrasts: pd.DataFrame
    assumptions: dict
    horizons: tuple
    tau: float
    n_boot: int
    seed: Any
    meta: dict = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        prof = self.table.loc[self.table["method"] == "markov cox", "profile"].unique()
        ss = sorted(self.table["s"].unique().tolist())
        return (f"Dynamic prediction from remission at day(s) {', '.join(f'{x:g}' for x in ss)} "
                f"for {len(prof)} profile(s); strategies: {', '.join(STRATEGIES)}; "
                f"bootstrap replicates: {self.n_boot}")

    def _repr_html_(self) -> str:
        notes = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>"
                        for k, v in self.assumptions.items())
        return (f"<p><b>{html.escape(repr(self))}</b></p>"
                + self.contrasts.to_html(index=False, float_format="{:.3f}".format, na_rep="")
                + f"<ul>{notes}</ul>")

    def plot(self, profile: Any = None, s: float | None = None, *, method: str = "markov cox",
             ax=None, figsize=(7.0, 4.0)):
        """Probability of being alive in remission after s under the three strategies."""
        import matplotlib.pyplot as plt

        from ..plots.theme import themed

        t = self.table
        profile = t["profile"].iloc[0] if profile is None else profile
        s = t["s"].iloc[0] if s is None else s
        sub = t[(t["profile"] == profile) & (t["s"] == s) & (t["method"] == method)
                & (t["outcome"] == "alive in remission")]
        if sub.empty:
            raise ValueError(f"no prediction for profile {profile!r}, s = {s}, method {method!r}")
        with themed():
            if ax is None:
                fig, ax = plt.subplots(figsize=figsize)
            else:
                fig = ax.figure
            for g, style in zip(STRATEGIES, ("-", "--", ":")):
                d = sub[sub["strategy"] == g]
                ax.step((d["time"] - s) / 30.4375, d["probability"], where="post", ls=style,
                        label=g)
            ax.set_ylim(0, 1)
            ax.set_xlabel(f"Months after day {s:g}")
            ax.set_ylabel("Alive in remission")
            ax.set_title(f"{profile}, in remission at day {s:g} ({method})")
            ax.legend(frameon=False)
        return fig


def _profiles(profiles) -> dict[str, dict]:
    if isinstance(profiles, pd.DataFrame):
        return {str(i): r.to_dict() for i, r in profiles.iterrows()}
    if isinstance(profiles, Mapping):
        if all(isinstance(v, Mapping) for v in profiles.values()):
            return {str(k): dict(v) for k, v in profiles.items()}
        return {"profile": dict(profiles)}
    raise TypeError("profiles must be a dict {label: {covariate: value}} or a DataFrame "
                    f"(one row per profile), got {type(profiles).__name__}")


def dynamic_prediction(ms: CartMultistate, profiles, s: float | Sequence[float] = 100, *,
                       covariates: Sequence[str] | Mapping | None = None,
                       model: MultistateCox | None = None,
                       horizons: Sequence[float] = (365, 730), tau: float = 730,
                       step: float = 7, landmark: bool = True, n_boot: int = 0,
                       seed: Any = None, backend: str | None = "sequential",
                       max_failed: float = 0.05, min_events: int = 10) -> DynamicPrediction:
    """For a patient in remission at day s: probabilities of being alive in remission,
    alive after relapse and dead over the next years under three strategies.

    Parameters
    ----------
    ms : CartMultistate
    profiles
        ``{label: {covariate: value}}`` or a DataFrame with one row per profile (index:
        labels); the values of every covariate of the model.
    s
        Landmark day(s) since infusion.
    covariates, model
        The transition-specific Cox model: a fitted :class:`~rwe_cart.MultistateCox`, or the
        covariates for :meth:`~rwe_cart.CartMultistate.fit` (default: the profiles' columns).
    horizons
        Days after s for the risk differences of being alive in remission.
    tau
        Horizon (days after s) of the restricted mean time alive in remission.
    step
        Spacing (days) of the time grid in ``.table``: s, s + step, ... up to s +
        max(horizons, tau), with s + each horizon and s + tau included.
    landmark
        Add the landmark Aalen–Johansen sensitivity version (no covariates).
    n_boot, seed, backend, max_failed
        Bootstrap replicates over patients for intervals of the contrasts
        (:func:`rwe_cart.bootstrap`, percentile; the Cox model refitted on each, and the
        landmark estimates recomputed in a second run with the same seed); 0: none.
        A replicate whose refit is not estimable (a covariate separating the few
        transitions of a resample) fails; up to `max_failed` of them are tolerated, with
        a warning, and counted in ``meta["n_failed"]``. A landmark bootstrap with more
        failures (resamples with nobody in a starting state at s), or a starting state
        with fewer than 10 patients at s, leaves the intervals of that day NaN and says
        why in ``meta["landmark_bootstrap_error"]`` (day -> reason).
    min_events
        Passed to :meth:`~rwe_cart.CartMultistate.fit` when `model` is not given.

    Returns
    -------
    DynamicPrediction

    Notes
    -----
    Strategies: (a) ``"transplant at s"``: start in ``hsct`` at s; (b) ``"not yet"``:
    start in ``remission`` at s, the observed transplant hazard continues; (c)
    ``"never"``: start in ``remission`` with the remission -> hsct hazard removed. The
    Markov version uses the Aalen–Johansen product integral of the profile's Cox
    transition hazards from s (``msfit`` + ``probtrans``); the landmark version uses
    LMAJ on the patients in ``hsct`` (a) or ``remission`` (b) at s, and for (c) LMAJ
    on the frame with the remission -> hsct transitions censored. See
    ``DynamicPrediction.assumptions`` for what each number rests on.

    Examples
    --------
    >>> import rwe_cart as rc
    >>> ms = rc.datasets.rocca_like().multistate()
    >>> dp = rc.dynamic_prediction(ms, {"age 40": {"age": 40.0}}, s=100, covariates=["age"],
    ...                            landmark=False)
    >>> t = dp.table
    >>> one_year = t[(t["outcome"] == "alive in remission") & (t["time"] == 465)]
    >>> print(one_year[["strategy", "probability"]].round(2).to_string(index=False))
           strategy  probability
    transplant at s         0.74
            not yet         0.57
              never         0.55
    """
    if not isinstance(ms, CartMultistate):
        raise TypeError(f"ms must come from cohort.multistate(), got {type(ms).__name__}")
    prof = _profiles(profiles)
    ss = [float(x) for x in np.atleast_1d(np.asarray(s, dtype=float))]
    if any(not np.isfinite(x) or x < 0 for x in ss):
        raise ValueError(f"s must be days >= 0, got {s!r}")
    horizons = tuple(float(h) for h in horizons)
    if not horizons or min(horizons) <= 0 or tau <= 0:
        raise ValueError("horizons and tau must be positive numbers of days")
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 0 or n_boot == 1:
        raise ValueError(f"n_boot must be 0 (no intervals) or an integer >= 2, got {n_boot!r}")
    if model is None:
        cols = covariates if covariates is not None else sorted(
            {c for v in prof.values() for c in v})
        model = ms.fit(cols, min_events=min_events)
    elif not isinstance(model, MultistateCox):
        raise TypeError(f"model must come from CartMultistate.fit, got {type(model).__name__}")
    span = max(max(horizons), float(tau))
    rows, contrasts = [], []
    est = {}
    for label, values in prof.items():
        hz = model.hazards(values)
        for x in ss:
            res = _strategy_probs(hz, x, variance=False)
            grid = _grid(x, span, step, horizons)
            for g, (pt, st) in res.items():
                for outcome, v in _outcomes(pt, st, grid).items():
                    rows.append(pd.DataFrame({"profile": label, "s": x, "method": "markov cox",
                                              "strategy": g, "time": grid, "outcome": outcome,
                                              "probability": v, "n_at_s": np.nan,
                                              "assumptions": _markov_keys(g)}))
            for key, v in _contrasts(res, x, horizons, tau).items():
                est[f"{label}|{x:g}|{key}"] = v
    if landmark:
        lm_rows, lm_est, skipped = _landmark(ms, ss, horizons, tau, step, span)
        rows += lm_rows
    else:
        lm_est, skipped = {}, []
    boot = lm_boot = lm_error = None
    if n_boot:
        boot = _bootstrap(model, prof, ss, horizons, tau, n_boot, seed, backend, max_failed)
        # one run per landmark day: a day with few patients in a state fails alone
        lm_boot, lm_error = {}, {}
        n_at = {(r["s"], r["strategy"]): r["n_at_s"] for r in
                (d.iloc[0] for d in lm_rows)} if landmark else {}
        for x in sorted({float(k.split("|")[1]) for k in lm_est}):
            fewest = min(v for (d, _), v in n_at.items() if d == x)
            if fewest < _LANDMARK_BOOT_MIN:
                # resamples of a handful of patients tie their events, and Efron's
                # increments of such ties exceed 1: the replicates are not estimates
                lm_boot[x], lm_error[x] = None, (
                    f"a starting state has {fewest} patients on day {x:g}, fewer than "
                    f"{_LANDMARK_BOOT_MIN}")
                continue
            lm_boot[x], lm_error[x] = _landmark_bootstrap(ms, [x], horizons, tau, n_boot,
                                                          seed, backend, max_failed)
    for key, v in {**est, **lm_est}.items():
        label, x, contrast, measure = key.split("|")
        method = "markov cox" if key in est else "landmark AJ"
        lo = hi = se = np.nan
        b = boot if key in est else (lm_boot or {}).get(float(x))
        if b is not None:
            lo, hi, se = b.lower[key], b.upper[key], b.se[key]
        keys = (_markov_keys(*contrast.split(" vs ")).split(", ") if method == "markov cox"
                else ["landmark"])
        if not np.isnan(se):
            keys.append("bootstrap")
        contrasts.append({"profile": label, "s": float(x), "method": method,
                          "contrast": contrast, "measure": measure, "estimate": v,
                          "lower": lo, "upper": hi, "se": se, "assumptions": ", ".join(keys)})
    table = pd.concat(rows, ignore_index=True)
    return DynamicPrediction(table=table, contrasts=pd.DataFrame(contrasts),
                             assumptions=dict(ASSUMPTIONS), horizons=horizons, tau=float(tau),
                             n_boot=int(n_boot), seed=seed,
                             meta={"model": model, "bootstrap": boot, "step": step,
                                   "landmark_skipped": skipped,
                                   "n_failed": boot.n_failed if boot is not None else 0,
                                   "landmark_bootstrap": lm_boot or {},
                                   "landmark_bootstrap_error": {
                                       k: v for k, v in (lm_error or {}).items() if v}})


def _without_hsct_transition(frame: pd.DataFrame) -> pd.DataFrame:
    """The long frame with every remission -> hsct transition censored: the patient
    leaves the frame at the transplant (strategy "never" of the landmark version)."""
    tr = frame.attrs[TRANSITIONS_ATTR]
    k = 1 + int(np.flatnonzero((tr.tfrom == STATES.index("remission"))
                               & (tr.tto == STATES.index("hsct")))[0])
    f = frame.copy()
    f.loc[f["trans"].to_numpy() == k, "status"] = 0
    f = f[f["from"].astype(str).to_numpy() != "hsct"]
    hsct_after = f["id"].isin(set(frame.loc[frame["from"].astype(str) == "hsct", "id"]))
    # relapse/death rows after an HSCT are gone with the hsct state
    f = f[~(hsct_after.to_numpy() & (f["from"].astype(str).to_numpy() == "relapse"))]
    f.attrs[TRANSITIONS_ATTR] = tr
    return f.reset_index(drop=True)


def _lmaj(frame: pd.DataFrame, tr: Transitions, s: float, start: str) -> StateProbabilities:
    """LMAJ; when nobody in `start` at s makes a transition afterwards the estimate is
    that they all stay there (hazards 0), which LMAJ itself refuses to compute."""
    try:
        return landmark_aalen_johansen(frame, tr, s, start)
    except ValueError as err:
        if "no transitions" not in str(err):
            raise
    at = (frame["from"].astype(str).to_numpy() == start) & (frame["start"].to_numpy() <= s) \
        & (frame["stop"].to_numpy() > s)
    S = tr.n_states
    return StateProbabilities(tr, np.array([s]), np.eye(S)[None], np.zeros((1, S, S)), s,
                              "forward", "aalen", start,
                              meta={"landmark": s, "n_patients": int(frame.loc[at, "id"].nunique())})


def _landmark(ms: CartMultistate, ss, horizons, tau, step, span):
    rows, est, skipped = [], {}, []
    never_frame = _without_hsct_transition(ms.frame)
    for x in ss:
        grid = _grid(x, span, step, horizons)
        res = {}
        for g, frame, start in (("transplant at s", ms.frame, "hsct"),
                                ("not yet", ms.frame, "remission"),
                                ("never", never_frame, "remission")):
            try:
                pt = _lmaj(frame, ms.transitions, x, start)
            except ValueError as err:
                if "no patient is in state" not in str(err):
                    raise
                skipped.append({"s": x, "strategy": g, "reason": str(err)})
                continue
            res[g] = (pt, start)
            for outcome, v in _outcomes(pt, start, grid).items():
                rows.append(pd.DataFrame({"profile": "all in the state at s", "s": x,
                                          "method": "landmark AJ", "strategy": g,
                                          "time": grid, "outcome": outcome,
                                          "probability": v,
                                          "n_at_s": pt.meta["n_patients"],
                                          "assumptions": "landmark"}))
        if len(res) == 3:
            for key, v in _contrasts(res, x, horizons, tau).items():
                est[f"all in the state at s|{x:g}|{key}"] = v
    return rows, est, skipped


def _landmark_bootstrap(ms: CartMultistate, days, horizons, tau, n_boot, seed, backend,
                        max_failed):
    """Bootstrap of the landmark contrasts over patients; ``(None, reason)`` when more
    resamples than `max_failed` leave a starting state empty."""
    from ..parallel import BootstrapError, bootstrap

    tr = ms.transitions

    def stat(f: pd.DataFrame) -> pd.Series:
        f.attrs[TRANSITIONS_ATTR] = tr
        never = _without_hsct_transition(f)
        out = {}
        for x in days:
            res = {g: (_lmaj(frame, tr, x, start), start)
                   for g, frame, start in (("transplant at s", f, "hsct"),
                                           ("not yet", f, "remission"),
                                           ("never", never, "remission"))}
            for key, v in _contrasts(res, x, horizons, tau).items():
                out[f"all in the state at s|{x:g}|{key}"] = v
        return pd.Series(out)

    try:
        res = bootstrap(ms.frame, stat, n_boot, seed=seed, cluster="id", method="percentile",
                        backend=backend, max_failed=max_failed)
    except BootstrapError as err:
        return None, str(err).split("\n")[0]
    return res, None


def _bootstrap(model: MultistateCox, prof, ss, horizons, tau, n_boot, seed, backend,
               max_failed):
    from ..parallel import bootstrap

    tr = model.transitions
    terms = list(model.model.covariates) if model.model is not None else []
    nd = {label: model.newdata(v) for label, v in prof.items()}

    def stat(f: pd.DataFrame) -> pd.Series:
        f.attrs[TRANSITIONS_ATTR] = tr
        fit = _cox(f, terms)
        out = {}
        for label, newdata in nd.items():
            hz = _hazards(fit, f, newdata, tr)
            for x in ss:
                res = _strategy_probs(hz, x, variance=False)
                for key, v in _contrasts(res, x, horizons, tau).items():
                    out[f"{label}|{x:g}|{key}"] = v
        return pd.Series(out)

    return bootstrap(model.data, stat, n_boot, seed=seed, cluster="id",
                     method="percentile", backend=backend, max_failed=max_failed)
