"""Small hand-made registry cohorts whose answers the tests work out by hand."""
import pandas as pd

import rwe_cart as rc

INFUSION = pd.Timestamp("2023-01-01")


def registry_from_days(spec, **columns) -> rc.Cohort:
    """A registry cohort from rows ``(id, best response, response, relapse, HSCT, death,
    last contact)``, the events in days from infusion (None: did not happen). A death
    after a relapse is from relapse, otherwise NRM; ``columns`` adds patient columns
    (a list, one value per row)."""
    def day(k):
        return INFUSION + pd.Timedelta(days=k) if k is not None else pd.NaT

    ids, best, resp, rel, hsct, death, last = zip(*spec)
    frame = pd.DataFrame({
        "patient_id": ids, "date_infusion": INFUSION, "best_response": best,
        "date_response": [day(k) for k in resp], "date_relapse": [day(k) for k in rel],
        "date_hsct": [day(k) for k in hsct], "date_death": [day(k) for k in death],
        "date_last_contact": [day(k) for k in last],
        "death_cause": [None if d is None else ("relapse" if r is not None else "nrm")
                        for r, d in zip(rel, death)],
        **columns})
    return rc.load_registry(frame)
