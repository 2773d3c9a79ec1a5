"""Write the minimal ADaM fixtures of tests/test_adam_minimal.py from the ZUMA-3-like draw.

    .venv/bin/python tests/data/make_adam_minimal.py

The shape a sponsor commonly delivers: ADSL with USUBJID, TRTSDT, SEX, TRT01A and BOR (no
response date); ADTTE with OS and PFS only (USUBJID, PARAMCD, AVAL, CNSR, ADT; no STARTDT,
no EVNTDESC); and, for the tests that add it, the ADRS of the same subjects. TRT01A splits
the subjects into two arms by phase (the generator treats everyone alike), so that the
by-arm analyses have two groups. The R reference (make_adam_minimal.R) reads the CSVs.
"""
from __future__ import annotations

from pathlib import Path

from rwe_cart.synthetic import write, zuma3

HERE = Path(__file__).parent


def frames():
    frame, _ = zuma3.simulate_zuma3()
    adsl, adtte = zuma3.to_adam(frame)
    adsl = adsl.assign(TRT01A=adsl["PHASE2FL"].map({"Y": "KTE-X19 phase 2", "N": "KTE-X19 phase 1"}))
    adsl = adsl[["USUBJID", "TRTSDT", "SEX", "TRT01A", "BOR"]]
    adtte = adtte.loc[adtte["PARAMCD"].isin(["OS", "PFS"]), ["USUBJID", "PARAMCD", "AVAL", "CNSR", "ADT"]]
    adrs = zuma3.to_adrs(frame)[["USUBJID", "PARAMCD", "AVISIT", "ADT", "AVALC"]]
    return {"adam_minimal_adsl": adsl, "adam_minimal_adtte": adtte, "adam_minimal_adrs": adrs}


if __name__ == "__main__":
    for name, frame in frames().items():
        (HERE / f"{name}.csv").write_text(write.to_csv_text(frame), encoding="utf-8", newline="")
