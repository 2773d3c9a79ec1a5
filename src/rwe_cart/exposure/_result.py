"""Result of one intermediate-event method: what it estimates, in whom, and how sure."""
from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..formatting import METHOD_LABELS, format_hr, format_p

ESTIMATE_COLUMNS = ["method", "estimand", "hr", "lower", "upper", "p", "n", "events", "note"]


#: The words every naive note starts with.
BIASED_NOTE = "biased: immortal time"


@dataclass(frozen=True, eq=False)
class ExposureEstimate:
    """One method's answer to "what does post-CAR-T allo-HSCT do to the endpoint?".

    Attributes
    ----------
    method : str
        Short name ("naive", "censor", "time_varying", "mantel_byar", "landmark", "ccw", …).
    estimand : str
        What the number estimates, in plain words (the contrast, population and time scale).
    population : str
        Who is analysed (e.g. "responders, from first CR/CRi/CRh").
    hr, lower, upper, p : float
        Hazard ratio of HSCT vs no HSCT with its confidence interval and p-value; NaN where
        the method gives no hazard ratio (then ``extra`` holds what it gives).
    n, events : int
        Patients (not rows) analysed and endpoint events among them.
    note : str
        A plain-words caveat; the naive method's note always says "biased: immortal time".
    endpoint : str
        The endpoint definition text.
    extra : dict
        Method-specific results (curves, risk differences, the fitted model, …).

    Examples
    --------
    >>> import rwe_cart as rc
    >>> est = rc.exposure.time_varying(rc.datasets.rocca_like(), "PFS")
    >>> est.method
    'time_varying'
    >>> round(est.hr, 3), est.biased
    (0.439, False)
    >>> list(est.row())
    ['method', 'estimand', 'hr', 'lower', 'upper', 'p', 'n', 'events', 'note']
    """

    method: str
    estimand: str
    population: str
    hr: float
    lower: float
    upper: float
    p: float
    n: int
    events: int
    note: str
    endpoint: str = ""
    extra: dict = field(default_factory=dict)

    def row(self) -> dict:
        return {c: getattr(self, c) for c in ESTIMATE_COLUMNS}

    @property
    def label(self) -> str:
        """Display name of the method (``METHOD_LABELS``), e.g. "Time-varying Cox"."""
        base = METHOD_LABELS.get(self.method, self.method)
        if self.method in ("landmark", "supermodel") and "landmark" in self.extra:
            model = self.extra.get("model")
            firth = ", Firth" if model is not None and model.meta.get("firth") else ""
            base += f" (day {self.extra['landmark']:g}{firth})"
        return base

    @property
    def biased(self) -> bool:
        """True when the note flags the number as biased (the naive comparison)."""
        return self.note.lower().startswith("biased")

    @property
    def has_hr(self) -> bool:
        """True when the method gives a hazard ratio (False for censoring, curves)."""
        return bool(np.isfinite(self.hr))

    def __repr__(self) -> str:
        hr = format_hr(self.hr, self.lower, self.upper)
        p = "—" if (self.p is None or math.isnan(self.p)) else f"{self.p:.3g}"
        return f"{self.method}: HR {hr}, p = {p}; {self.estimand} [{self.note}]"

    def _repr_html_(self) -> str:
        e = html.escape
        colour = ' style="color:#b00020"' if self.biased else ""
        lines = [
            f"<p><b{colour}>{e(self.label)}</b>: "
            f"HR {e(format_hr(self.hr, self.lower, self.upper))}, p {e(format_p(self.p))}; "
            f"{self.n} patients, {self.events} events</p>",
            f"<p><i>Estimates:</i> {e(self.estimand)}<br><i>Population:</i> {e(self.population)}"
            f"<br><i>Caveat:</i> <span{colour}>{e(self.note)}</span>",
        ]
        if self.endpoint:
            lines.append(f"<br><i>Endpoint:</i> {e(self.endpoint)}")
        lines.append("</p>")
        return "".join(lines)


def comparison_table(estimates: list[ExposureEstimate]) -> pd.DataFrame:
    return pd.DataFrame([e.row() for e in estimates], columns=ESTIMATE_COLUMNS)
