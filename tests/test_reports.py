"""The report set: rendered twice from the notebooks, it must leak no identifier or
calendar date of the input and give the same numbers both times."""
import json
import re
from pathlib import Path

import pandas as pd
import pytest

from rwe_cart.io.registry import file_sha256
from rwe_cart.report import render_all

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "synthetic" / "rocca_like.csv"
IMAGE = re.compile(r'src="data:image/[^"]+"')
GENERATED = re.compile(r"Report generated \d{4}-\d{2}-\d{2}")


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    runs = []
    for k in range(2):
        out = tmp_path_factory.mktemp(f"reports{k}")
        render_all(ROOT / "notebooks", out, {"suppress_below": None})
        runs.append(out)
    return runs


def html_files(out: Path) -> list[Path]:
    return sorted(out.glob("*.html"))


def test_every_notebook_has_a_report_and_a_manifest(two_runs):
    out = two_runs[0]
    names = {p.stem for p in html_files(out)}
    assert names == {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["inputs_sha256"]["rocca_like.csv"] == file_sha256(DATA)
    assert {n["notebook"] for n in manifest["notebooks"]} == {f"{n}.ipynb" for n in names}
    assert manifest["packages"]["numpy"]


def test_reports_show_no_identifier_or_input_date(two_runs):
    frame = pd.read_csv(DATA, dtype=str)
    ids = set(frame["patient_id"].dropna())
    dates = set(frame[[c for c in frame if c.startswith("date_")]].stack().dropna())
    assert len(ids) == 189 and len(dates) > 100
    for html in html_files(two_runs[0]):
        text = IMAGE.sub("", html.read_text(encoding="utf-8"))
        tokens = set(re.findall(r"[A-Za-z0-9_-]+", text))
        leaked_ids = ids & tokens
        leaked_dates = {d for d in dates if d in text}
        assert not leaked_ids, f"{html.name} shows patient identifiers {sorted(leaked_ids)[:5]}"
        assert not leaked_dates, f"{html.name} shows input dates {sorted(leaked_dates)[:5]}"


def test_two_runs_give_identical_numbers(two_runs):
    for a, b in zip(html_files(two_runs[0]), html_files(two_runs[1])):
        strip = lambda p: GENERATED.sub("", IMAGE.sub("", p.read_text(encoding="utf-8")))
        assert strip(a) == strip(b), f"{a.name} differs between two runs"
    for fig in (two_runs[0] / "figures").rglob("*.svg"):
        other = two_runs[1] / fig.relative_to(two_runs[0])
        assert fig.read_bytes() == other.read_bytes(), f"figure {fig.name} differs between runs"
