"""ReportOutputs: what a report notebook writes next to its HTML, with small cells suppressed."""
import pandas as pd
from matplotlib.text import Text
import pytest

import rwe_cart as rc
from rwe_cart.report import ReportOutputs


@pytest.fixture(scope="module")
def effect():
    return rc.hsct_effect(rc.datasets.rocca_like(), "PFS", methods=("naive", "time_varying"),
                          covariates=["age"])


def test_nothing_is_written_without_a_directory(tmp_path):
    out = ReportOutputs(None, 5)
    shown = out.table(pd.DataFrame({"n": [3, 12]}), "counts")
    assert "&lt;5" in shown.data and not list(tmp_path.iterdir())


def test_tables_are_written_in_three_formats_with_counts_suppressed(tmp_path):
    out = ReportOutputs(tmp_path, 5)
    table = pd.DataFrame({"grade": ["1", "2", "3"], "n": [2, 0, 40], "percent": [4.8, 0.0, 95.2],
                          "early ICAHT": [1, 7, 34]}).set_index("grade")
    shown = out.table(table, "grades", caption="Grades", counts=["early ICAHT"],
                      percent_columns={"n": "percent"})
    assert {p.name for p in tmp_path.iterdir()} == {"grades.csv", "grades.tex", "grades.html"}
    csv = pd.read_csv(tmp_path / "grades.csv", dtype=str)
    assert csv["n"].tolist() == ["<5", "0", "40"]
    assert csv["percent"].tolist()[0] == "–"
    assert csv["early ICAHT"].tolist() == ["<5", "7", "34"]
    for name in ("grades.tex", "grades.html"):
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert "4.8" not in text and ("&lt;5" in text or r"\textless{}5" in text)
    assert "&lt;5" in shown.data


def test_every_column_can_be_a_count(tmp_path):
    shown = ReportOutputs(tmp_path, 10).table(pd.DataFrame({"day 10": [9, 40], "day 30": [0, 3]}),
                                              "n", counts=True)
    csv = pd.read_csv(tmp_path / "n.csv", dtype=str)
    assert csv.values.tolist() == [["<10", "0"], ["40", "<10"]]
    assert shown.data.count(">&lt;10<") == 2  # the two cells; the note also names the rule


def test_hsct_effect_keeps_its_display_with_counts_suppressed(tmp_path, effect):
    k = int(effect.table["events"].min()) + 1
    shown = ReportOutputs(tmp_path, k).table(effect, "effect")
    assert shown.suppress_below == k and f"&lt;{k}" in shown._repr_html_()
    assert "BIASED" in shown._repr_html_()
    assert f"<{k}" in pd.read_csv(tmp_path / "effect.csv", dtype=str)["events"].tolist()
    assert effect.suppress_below is None  # the original result is unchanged


def test_figures_are_saved_in_three_formats(tmp_path):
    km = rc.kaplan_meier(rc.datasets.rocca_like().endpoint("OS"), "time", "event")
    fig = ReportOutputs(tmp_path).figure(rc.plot_km(km), "os")
    assert fig is not None
    assert {p.suffix for p in tmp_path.iterdir()} == {".pdf", ".svg", ".png"}


@pytest.mark.parametrize("k", [0, True, 2.5, "5"])
def test_a_bad_threshold_is_refused(k):
    with pytest.raises(ValueError, match="suppress_below"):
        ReportOutputs(None, k)


def test_forest_plot_takes_the_suppression_of_its_result(effect):
    k = int(effect.table["events"].min()) + 1
    fig = rc.plot_forest(effect.suppressed(k))
    assert any(f"<{k}" in t for t in _texts(fig))
    assert not any(f"<{k}" in t for t in _texts(rc.plot_forest(effect)))


def _texts(fig):
    return [t.get_text() for t in fig.findobj(Text)]


def test_make_reports_arguments_reach_the_notebooks(monkeypatch, tmp_path):
    from rwe_cart import report

    seen = {}
    monkeypatch.setattr(report, "render_all",
                        lambda notebooks, out, params, jobs: seen.update(params))
    report.main(["--data", "reg.csv", "--suppress-below", "5", "--out", str(tmp_path)])
    assert seen["data"].endswith("reg.csv") and seen["suppress_below"] == 5
    assert seen["labs"] is None  # the bundled labs belong to the bundled cohort, not to --data
    seen.clear()
    report.main(["--adsl", "a.xpt", "--adtte", "t.xpt", "--labs", "l.csv"])
    assert seen.pop("adrs") is None  # the bundled ADRS belongs to the bundled trial, not to --adsl
    assert {k: v.rsplit("/", 1)[-1] for k, v in seen.items()} == {"adsl": "a.xpt", "adtte": "t.xpt",
                                                                  "labs": "l.csv"}
    seen.clear()
    report.main(["--adsl", "a.xpt", "--adtte", "t.xpt", "--adrs", "r.xpt"])
    assert seen["adrs"].endswith("r.xpt")
    with pytest.raises(SystemExit):
        report.main(["--adsl", "a.xpt"])
    with pytest.raises(SystemExit):
        report.main(["--adrs", "r.xpt"])


def test_every_report_notebook_declares_the_parameters_make_reports_passes():
    from rwe_cart.report import accepted_parameters, bundled_notebooks

    notebooks = sorted(bundled_notebooks().glob("*.ipynb"))
    assert len(notebooks) == 7
    for nb in notebooks:
        accepted = accepted_parameters(nb)
        assert {"suppress_below", "figures_dir"} <= accepted, nb.name
        assert accepted & {"data", "adsl"}, f"{nb.name} takes no input file"


def test_a_result_with_a_table_is_suppressed_in_its_extra_count_columns(tmp_path):
    from rwe_cart import exposure

    grid = exposure.landmark_grid(rc.datasets.rocca_like(), "PFS", covariates=["age"])
    k = int(grid.table["exposed"].min()) + 1
    shown = ReportOutputs(tmp_path, k).table(grid, "grid", counts=["exposed"])
    csv = pd.read_csv(tmp_path / "grid.csv", dtype=str)
    assert f"<{k}" in csv["exposed"].tolist()
    assert f">&lt;{k}<" in shown.data


def test_a_failing_notebook_fails_a_parallel_rendering(tmp_path):
    import nbformat
    from papermill import PapermillExecutionError

    from rwe_cart.report import render_all

    for name, source in [("a", "x = 1"), ("b", "raise ValueError('cell failed on purpose')")]:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        nbformat.write(nb, tmp_path / f"{name}.ipynb")
    with pytest.raises(PapermillExecutionError, match="cell failed on purpose"):
        render_all(tmp_path, tmp_path / "out", jobs=2)
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_a_folder_without_notebooks_is_an_error_not_an_empty_report(tmp_path):
    from rwe_cart.report import render_all

    with pytest.raises(FileNotFoundError, match="no report notebooks"):
        render_all(tmp_path / "notebooks", tmp_path / "out")


def test_sections_without_their_inputs_say_so_and_the_report_goes_on(tmp_path):
    """A registry without HSCT or response dates: the HSCT sections and the DOR curve
    print why they are not shown instead of stopping the report."""
    import shutil

    from paths import ROOT
    from rwe_cart.report import bundled_notebooks, render_all

    registry = pd.read_csv(ROOT / "data" / "synthetic" / "rocca_like.csv")
    registry.drop(columns=["date_hsct", "date_response"]).to_csv(tmp_path / "reg.csv",
                                                                   index=False)
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for name in ("02_survival_endpoints", "04_competing_risks"):
        shutil.copy(bundled_notebooks() / f"{name}.ipynb", notebooks)
    render_all(notebooks, tmp_path / "out", {"data": str(tmp_path / "reg.csv")}, jobs=1)
    endpoints = (tmp_path / "out" / "02_survival_endpoints.html").read_text(encoding="utf-8")
    competing = (tmp_path / "out" / "04_competing_risks.html").read_text(encoding="utf-8")
    assert "Not shown: DOR needs response dates (date_response)" in endpoints
    assert "Not shown: the allo-HSCT-in-remission analyses needs" in competing
