"""R-style survival formulas: ``"Surv(start, stop, event) ~ age + C(sex) + strata(site)"``.

The left side names the time columns as R's ``Surv()``; the right side is a Wilkinson
formula parsed by formulaic (interactions, ``C()``, transformations, ``bs``/``cr``
splines), plus R's specials ``strata(...)`` and ``cluster(...)``, which are taken out
before formulaic sees the formula. The estimators then run on plain columns, so a formula
call and the equivalent column-list call are one code path.

Coefficient names follow R's ``model.matrix``: ``sexM`` for level M of ``sex`` (also when
written ``C(sex)``), ``age:sexM`` for an interaction, ``bs(age, df=3)1`` for a spline
basis column, ``xTRUE`` for a logical column.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import validate as V

__all__ = ["SurvFormula", "parse", "split_call", "model_columns", "transform", "group_frame"]

_SURV = re.compile(r"^\s*Surv\s*\((?P<args>[^()]*)\)\s*~(?P<rhs>.*)$", re.S)
_SPECIAL = re.compile(r"^(?P<fn>strata|cluster)\((?P<args>.*)\)$", re.S)
# formulaic's column names: "x[T.level]" (a contrast column), "x[level]" (a full-rank
# indicator, as in an interaction without the main effect), "f(x)[k]" (a basis column)
_LEVEL = re.compile(r"\[(?:T\.)?(?P<level>[^\]]*)\]")
# a keyword argument as R deparses it: "df = 4"
_KEYWORD = re.compile(r"\s*(?<![=!<>])=(?![=])\s*")
_C_CALL = re.compile(r"\bC\(\s*(?P<var>[^,()]+?)\s*(?:,[^()]*(?:\([^()]*\))?[^()]*)?\)")


@dataclass(frozen=True)
class SurvFormula:
    """A parsed survival formula."""

    text: str
    start: str | None
    time: str
    status: str
    terms: tuple[str, ...]          # right-side terms for formulaic (no specials)
    strata: tuple[str, ...]
    cluster: str | None

    @property
    def rhs(self) -> str:
        return " + ".join(self.terms) if self.terms else "1"


def _unquote(name: str) -> str:
    name = name.strip()
    return name[1:-1] if len(name) > 1 and name[0] == name[-1] == "`" else name


def parse(formula: str) -> SurvFormula:
    """Split ``Surv(...) ~ rhs`` into its columns, model terms and specials."""
    if not isinstance(formula, str):
        raise TypeError(f"a formula must be a string, got {type(formula).__name__}")
    m = _SURV.match(formula)
    if m is None:
        raise ValueError(f"formula {formula!r} must read 'Surv(time, event) ~ terms' or "
                         "'Surv(start, stop, event) ~ terms'")
    args = [_unquote(a) for a in m["args"].split(",")]
    if len(args) not in (2, 3) or not all(args):
        raise ValueError(f"Surv() in {formula!r} takes (time, event) or (start, stop, event) "
                         f"column names, got {len(args)} argument(s)")
    start, time, status = ([None] + args) if len(args) == 2 else args
    rhs = m["rhs"].strip()
    if not rhs:
        raise ValueError(f"formula {formula!r} has nothing right of '~' (write '~ 1' for "
                         "no covariates)")
    import formulaic

    try:
        parsed = formulaic.Formula(rhs)
    except Exception as err:  # formulaic raises its own parser errors
        raise ValueError(f"cannot parse the right side of {formula!r}: {err}") from None
    terms, strata, cluster = [], [], []
    for term in parsed:
        text = str(term)
        if text == "1":
            continue
        special = _SPECIAL.match(text)
        if special is None:
            terms.append(text)
        elif special["fn"] == "strata":
            strata += [_unquote(a) for a in special["args"].split(",")]
        else:
            cluster.append(_unquote(special["args"]))
    if len(cluster) > 1 or (cluster and "," in cluster[0]):
        raise ValueError(f"formula {formula!r}: cluster() takes one column")
    return SurvFormula(formula, start, time, status, tuple(terms), tuple(strata),
                       cluster[0] if cluster else None)


def split_call(first: Any, second: Any, what: str, *, formula_second: bool = False
               ) -> tuple[pd.DataFrame, SurvFormula | None]:
    """``f(formula, data)`` or ``f(data, ...)``: the frame and the parsed formula (or None).

    The formula may come first (as statsmodels' ``ols(formula, data)``) or, where the
    function's second parameter is ``formula`` (`formula_second`), second; elsewhere the
    second parameter is a column name.
    """
    if isinstance(first, str):
        if not isinstance(second, pd.DataFrame):
            raise TypeError(f"{what}(formula, data): data must be a pandas DataFrame, got "
                            f"{type(second).__name__}")
        return second, parse(first)
    if formula_second and isinstance(second, str):
        return first, parse(second)
    return first, None


def r_name(column: str) -> str:
    """formulaic's column name → R's model.matrix name."""
    def level(m: re.Match) -> str:
        lev = m["level"]
        return {"True": "TRUE", "False": "FALSE"}.get(lev, lev)

    name = _C_CALL.sub(lambda m: m["var"].strip(), column)
    name = _KEYWORD.sub(" = ", name)
    return _LEVEL.sub(level, name)


def _check_variables(data: pd.DataFrame, names, formula: str) -> None:
    missing = sorted(n for n in names if n not in data.columns)
    if missing:
        raise ValueError(f"formula {formula!r} uses column(s) {missing} that are not in the "
                         "data")
    for name in names:
        bad = data[name].isna().to_numpy()
        if bad.any():
            raise ValueError(
                f"column {name!r} has {int(bad.sum())} missing value(s) "
                f"({V.describe_rows(data, bad)}); values in a model must be known for every "
                "row (drop or impute those rows explicitly)")


def model_columns(f: SurvFormula, data: pd.DataFrame
                  ) -> tuple[pd.DataFrame, list[str], Any]:
    """The data with one numeric column per coefficient added, their names, and the
    formulaic model spec that rebuilds them for new data.

    The intercept is used to choose the coding (treatment contrasts, first level as
    reference, as R) and then dropped: a Cox model has no intercept.
    """
    V.check_frame(data, [("formula", c) for c in (f.start, f.time, f.status, f.cluster,
                                                  *f.strata)])
    if not f.terms:
        return data, [], None
    import formulaic

    spec = formulaic.Formula(f.rhs)
    _check_variables(data, spec.required_variables, f.text)
    mm = formulaic.model_matrix(f.rhs, _logical_as_factor(data, spec.required_variables),
                                na_action="raise")
    return _attach(data, mm, f.text), [r_name(c) for c in mm.columns if c != "Intercept"], \
        mm.model_spec


def _logical_as_factor(data: pd.DataFrame, names) -> pd.DataFrame:
    """Logical columns as FALSE/TRUE factors, as R's model.matrix (coefficient ``xTRUE``);
    formulaic would enter them as numbers (``x``)."""
    logical = [n for n in names if pd.api.types.is_bool_dtype(data[n].dtype)]
    if not logical:
        return data
    return data.assign(**{n: pd.Categorical(data[n], categories=[False, True])
                          for n in logical})


def _attach(data: pd.DataFrame, mm, text: str) -> pd.DataFrame:
    cols = {r_name(c): np.asarray(mm[c], dtype=np.float64) for c in mm.columns
            if c != "Intercept"}
    clash = sorted(c for c in cols if c in data.columns
                   and not np.array_equal(cols[c], _as_float(data[c]), equal_nan=True))
    if clash:
        raise ValueError(f"formula {text!r}: coefficient name(s) {clash} are also data columns "
                         "with other values; rename those columns")
    out = data.assign(**cols)
    out.attrs = dict(data.attrs)
    return out


def _as_float(col: pd.Series) -> np.ndarray:
    try:
        return col.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        return np.full(len(col), np.nan)


def transform(spec, profile: pd.DataFrame, text: str) -> pd.DataFrame:
    """New rows (e.g. prediction profiles) through the fitted formula's coding."""
    _check_variables(profile, spec.required_variables, text)
    coded = _logical_as_factor(profile, spec.required_variables)
    return _attach(profile, spec.get_model_matrix(coded, na_action="raise"), text)


def group_frame(f: SurvFormula, data: pd.DataFrame, what: str
                ) -> tuple[pd.DataFrame, str | None]:
    """For curve estimators: the grouping column of ``~ 1`` / ``~ group`` / ``~ a + b``.

    Several variables make one group per combination, labelled as R's ``survfit``
    (``"a=1, b=x"``).
    """
    if f.cluster is not None:
        raise ValueError(f"{what} takes no cluster() term (formula {f.text!r})")
    bad = [t for t in f.terms if not re.fullmatch(r"[A-Za-z_.][\w.]*|`[^`]+`", t)]
    if bad:
        raise ValueError(f"{what} groups by columns only; {bad} in {f.text!r} is a "
                         "model term (use rwe_cart.cox for covariates)")
    names = [_unquote(t) for t in f.terms]
    V.check_frame(data, [("formula", c) for c in names])
    if not names:
        return data, None
    if len(names) == 1:
        return data, names[0]
    label = ", ".join(names)
    out = data.copy()
    out[label] = data[names[0]].astype(str).radd(f"{names[0]}=")
    for n in names[1:]:
        out[label] = out[label] + f", {n}=" + data[n].astype(str)
    out.attrs = dict(data.attrs)
    return out, label


def strata_column(f: SurvFormula, data: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """One column for ``strata(a, b, ...)`` (the values joined as R's labels)."""
    if len(f.strata) <= 1:
        return data, (f.strata[0] if f.strata else None)
    name = "strata(" + ", ".join(f.strata) + ")"
    out = data.copy()
    out[name] = data[f.strata[0]].astype(str).radd(f"{f.strata[0]}=")
    for s in f.strata[1:]:
        out[name] = out[name] + f", {s}=" + data[s].astype(str)
    out.attrs = dict(data.attrs)
    return out, name


def model_arguments(f: SurvFormula, data: pd.DataFrame, given: dict, what: str
                    ) -> tuple[pd.DataFrame, dict, Any]:
    """The column-list arguments of a regression (``time, event, start, covariates,
    strata, cluster``) that the formula stands for, on the data with its design columns.

    `given` holds the column arguments also passed by keyword: with a formula they must
    be unset, so that no setting is given twice.
    """
    twice = sorted(k for k, v in given.items() if v is not None)
    if twice:
        raise TypeError(f"{what}: give either a formula or the column arguments {twice}, "
                        "not both")
    data, covariates, spec = model_columns(f, data)
    data, strata = strata_column(f, data)
    return data, {"time": f.time, "start": f.start, "covariates": covariates,
                  "strata": strata, "cluster": f.cluster}, spec


def require(what: str, **columns: Any) -> None:
    """The column arguments a call without a formula cannot do without."""
    unset = [k for k, v in columns.items() if v is None]
    if unset:
        raise TypeError(f"{what}() needs {', '.join(k + '=' for k in unset)} (or a formula "
                        "such as 'Surv(time, event) ~ x')")


def curve_arguments(f: SurvFormula, data: pd.DataFrame, given: dict, what: str, *,
                    strata: bool = False, entry: bool = True) -> tuple[pd.DataFrame, dict]:
    """The column arguments of a curve estimator or test (``time, status, entry, group,
    strata``) that ``Surv(...) ~ group [+ strata(s)]`` stands for."""
    twice = sorted(k for k, v in given.items() if v is not None)
    if twice:
        raise TypeError(f"{what}: give either a formula or the column arguments {twice}, "
                        "not both")
    if f.start is not None and not entry:
        raise ValueError(f"{what} takes Surv(time, status), not delayed entry "
                         f"(formula {f.text!r})")
    if f.strata and not strata:
        raise ValueError(f"{what} takes no strata() term (formula {f.text!r})")
    data, group = group_frame(f, data, what)
    data, strata_col = strata_column(f, data)
    return data, {"time": f.time, "status": f.status, "entry": f.start, "group": group,
                  "strata": strata_col}
