"""rwe-cart validate: exit 0 valid, 1 invalid (every problem printed), 2 unreadable."""
import rwe_cart.cli as cli
from test_cohort import base_frame


def test_validate_valid(tmp_path, capsys):
    p = tmp_path / "ok.csv"
    base_frame().to_csv(p, index=False)
    assert cli.main(["validate", str(p)]) == 0
    assert "valid — 3 patients" in capsys.readouterr().out


def test_validate_invalid_lists_problems_by_rule(tmp_path, capsys):
    p = tmp_path / "bad.csv"
    base_frame().assign(sex=["F", "X", "Y"], crs_grade=["9", "1", "0"]).to_csv(p, index=False)
    assert cli.main(["validate", str(p)]) == 1
    out = capsys.readouterr().out
    assert "3 problem(s) in 3 patient(s)" in out
    assert "[sex] one of F, M — 2 row(s)" in out and "P02" in out and "[crs_grade]" in out


def test_validate_unreadable(tmp_path, capsys):
    assert cli.main(["validate", str(tmp_path / "missing.csv")]) == 2
    assert "UNREADABLE" in capsys.readouterr().err
