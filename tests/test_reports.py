"""The report set: rendered twice from the bundled notebooks with small-cell suppression on
(one notebook after another, then in parallel processes), it must leak no identifier or
calendar date of any input, show no count below the threshold in any exported table, and
give the same numbers both times. (The default rendering, without suppression, runs under
nbmake.)"""
import json
import re
from pathlib import Path

import pandas as pd
import pytest

import rwe_cart as rc

from rwe_cart.io.registry import file_sha256
from rwe_cart.report import bundled_notebooks, render_all

ROOT = Path(__file__).resolve().parents[1]
SYNTHETIC = ROOT / "data" / "synthetic"
DATA = SYNTHETIC / "rocca_like.csv"
INPUTS = {  # every table a report reads -> its identifier columns
    DATA: ["patient_id"],
    SYNTHETIC / "zuma3_like_adsl.csv": ["USUBJID", "SUBJID"],
    SYNTHETIC / "zuma3_like_adtte.csv": ["USUBJID"],
    SYNTHETIC / "zuma3_like_adrs.csv": ["USUBJID"],
    SYNTHETIC / "labs" / "rocca_like_labs.csv": ["patient_id"],
    SYNTHETIC / "labs" / "case_report_labs.csv": ["patient_id"],
}
K = 5
COUNT_NAME = re.compile(r"^(n|events|n_.*|count|at risk|at_risk|censored|deaths)$", re.IGNORECASE)
IMAGE = re.compile(r'src="data:image/[^"]+"')
SVG_TAG = re.compile(r"<[^>]*>")
GENERATED = re.compile(r"Report generated \d{4}-\d{2}-\d{2}")


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    runs = []
    for k, jobs in enumerate([1, 2]):
        out = tmp_path_factory.mktemp(f"reports{k}")
        render_all(bundled_notebooks(), out, {"suppress_below": K}, jobs=jobs)
        runs.append(out)
    return runs


def html_files(out: Path) -> list[Path]:
    return sorted(out.glob("*.html"))


def test_every_notebook_has_a_report_and_a_manifest(two_runs):
    out = two_runs[0]
    names = {p.stem for p in html_files(out)}
    assert names == {p.stem for p in bundled_notebooks().glob("*.ipynb")}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["inputs_sha256"]["rocca_like.csv"] == file_sha256(DATA)
    assert {n["notebook"] for n in manifest["notebooks"]} == {f"{n}.ipynb" for n in names}
    assert manifest["packages"]["numpy"]
    # every report's provenance block names the package version and the commit it ran from
    stamp = f"rwe_cart {rc.__version__} (git commit {manifest['git_commit']})"
    for page in html_files(out):
        assert stamp in page.read_text(encoding="utf-8"), page.name


def _identifiers_and_dates() -> tuple[set, set]:
    ids, dates = set(), set()
    for path, id_columns in INPUTS.items():
        frame = pd.read_csv(path, dtype=str)
        ids |= set(frame[id_columns].stack().dropna())
        date_columns = [c for c in frame if c.startswith("date_") or c.endswith("DT")]
        dates |= set(frame[date_columns].stack().dropna())
    return ids, dates


def test_reports_show_no_identifier_or_input_date(two_runs):
    ids, dates = _identifiers_and_dates()
    assert len(ids) > 189 + 78 and len(dates) > 100
    exported = list((two_runs[0] / "figures").rglob("*.csv")) + list((two_runs[0] / "figures").rglob("*.svg"))
    for path in html_files(two_runs[0]) + exported:
        text = IMAGE.sub("", path.read_text(encoding="utf-8"))
        # an SVG shows what its elements hold (text stays text, svg.fonttype "none"); the
        # coordinates in its tags ("293.0066") are geometry and are not searched
        text = SVG_TAG.sub(" ", text) if path.suffix == ".svg" else text
        tokens = set(re.findall(r"[A-Za-z0-9_-]+", text))
        leaked_ids = ids & tokens
        leaked_dates = {d for d in dates if d in text}
        assert not leaked_ids, f"{path.name} shows patient identifiers {sorted(leaked_ids)[:5]}"
        assert not leaked_dates, f"{path.name} shows input dates {sorted(leaked_dates)[:5]}"


def test_exported_tables_show_no_count_below_the_threshold(two_runs):
    tables = sorted((two_runs[0] / "figures").rglob("*.csv"))
    assert len(tables) >= 20
    checked = 0
    for path in tables:
        frame = pd.read_csv(path, dtype=str)
        for column in [c for c in frame if COUNT_NAME.match(str(c))]:
            values = pd.to_numeric(frame[column], errors="coerce")
            small = values.gt(0) & values.lt(K)
            assert not small.any(), f"{path.name}: {column} shows {frame[column][small].tolist()}"
            checked += 1
    assert checked >= 15


def test_two_runs_give_identical_numbers(two_runs):
    for a, b in zip(html_files(two_runs[0]), html_files(two_runs[1])):
        strip = lambda p: GENERATED.sub("", IMAGE.sub("", p.read_text(encoding="utf-8")))
        assert strip(a) == strip(b), f"{a.name} differs between two runs"
    for fig in [*(two_runs[0] / "figures").rglob("*.svg"), *(two_runs[0] / "figures").rglob("*.csv")]:
        other = two_runs[1] / fig.relative_to(two_runs[0])
        assert fig.read_bytes() == other.read_bytes(), f"{fig.name} differs between runs"
