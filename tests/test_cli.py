"""rwe-cart validate: exit 0 valid, 1 invalid (every problem printed), 2 unreadable; rwe-cart
report hands its options to the report runner."""
import pytest

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


def test_validate_valid_prints_the_summary(tmp_path, capsys):
    p = tmp_path / "ok.csv"
    base_frame().to_csv(p, index=False)
    assert cli.main(["validate", str(p)]) == 0
    out = capsys.readouterr().out
    assert "rows read        3" in out and "No problems" in out


def _unreadable(path, capsys, words):
    assert cli.main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "UNREADABLE" in err and words in err


def test_validate_unreadable_directory(tmp_path, capsys):
    _unreadable(tmp_path, capsys, "directory")


def test_validate_unreadable_unknown_extension(tmp_path, capsys):
    p = tmp_path / "reg.json"
    p.write_text("{}")
    _unreadable(p, capsys, "expected one of")


def test_validate_unreadable_undecodable_bytes(tmp_path, capsys):
    p = tmp_path / "reg.csv"
    base_frame().assign(centre=["Rome", "Zürich", "Milan"]).to_csv(p, index=False, encoding="latin-1")
    _unreadable(p, capsys, "encoding='cp1252'")
    assert cli.main(["validate", str(p), "--encoding", "latin-1"]) == 0


def test_validate_unreadable_empty_and_whitespace_files(tmp_path, capsys):
    p = tmp_path / "reg.csv"
    p.write_bytes(b"")
    _unreadable(p, capsys, "empty")
    p.write_text("  \n\t\n")
    _unreadable(p, capsys, "no header")


def test_validate_header_only_is_invalid_not_unreadable(tmp_path, capsys):
    p = tmp_path / "reg.csv"
    p.write_text(",".join(base_frame().columns) + "\n")
    assert cli.main(["validate", str(p)]) == 1
    assert "at least one patient row" in capsys.readouterr().out


def test_validate_wrong_separator_names_it(tmp_path, capsys):
    p = tmp_path / "reg.csv"
    base_frame().to_csv(p, index=False, sep=";")
    assert cli.main(["validate", str(p)]) == 1
    assert "pass sep=';'" in capsys.readouterr().out
    assert cli.main(["validate", str(p), "--sep", ";"]) == 0


def test_validate_excel_dates_option(tmp_path, capsys):
    p = tmp_path / "reg.csv"
    base_frame().assign(date_hsct=[None, None, "45066"]).to_csv(p, index=False)
    assert cli.main(["validate", str(p)]) == 1
    assert "excel_dates=True" in capsys.readouterr().out
    assert cli.main(["validate", str(p), "--excel-dates"]) == 0


def test_report_passes_its_options_to_the_report_runner(monkeypatch, tmp_path):
    from rwe_cart import report

    seen = {}
    monkeypatch.setattr(report, "render_all",
                        lambda notebooks, out, params, jobs: seen.update(out=out, jobs=jobs, **params))
    assert cli.main(["report", "--out", str(tmp_path), "--jobs", "1", "--suppress-below", "5"]) == 0
    assert seen == {"out": tmp_path, "jobs": 1, "suppress_below": 5}


def test_validate_rejects_an_unknown_option(tmp_path):
    with pytest.raises(SystemExit):
        cli.main(["validate", str(tmp_path / "x.csv"), "--no-such-option"])
