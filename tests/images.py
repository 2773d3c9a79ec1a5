"""Rendered-image comparison shared by the figure tests.

A baseline is a 60-dpi PNG in tests/baseline/; after an intended change to a figure,
regenerate it with ``RWE_CART_UPDATE_BASELINE=1 .venv/bin/python -m pytest tests/...``
and look at the new PNG before committing it.
"""
import os
import re
from pathlib import Path

import matplotlib
import pytest
from matplotlib.testing.compare import compare_images

BASELINE_DIR = Path(__file__).parent / "baseline"
#: The matplotlib the baselines were rendered with: the pinned one of constraints.txt.
BASELINE_MATPLOTLIB = re.search(r"^matplotlib==(\S+)$",
                                (Path(__file__).parents[1] / "constraints.txt").read_text(),
                                re.M).group(1)


def require_baseline_matplotlib() -> None:
    """Skip a pixel-level check under another matplotlib: text metrics and rasterisation
    change between its releases (the minimum-versions run of CI uses an older one)."""
    if matplotlib.__version__ != BASELINE_MATPLOTLIB:
        pytest.skip(f"pixel-level check made with matplotlib {BASELINE_MATPLOTLIB}, "
                    f"running {matplotlib.__version__}")


def check_baseline(fig, name: str, tmp_path: Path, *, tol: float = 1.0) -> None:
    """Compare ``fig`` rendered at 60 dpi with ``tests/baseline/<name>`` (RMS ≤ ``tol``)."""
    require_baseline_matplotlib()
    actual = tmp_path / name
    fig.savefig(actual, dpi=60)
    path = BASELINE_DIR / name
    if os.environ.get("RWE_CART_UPDATE_BASELINE"):
        BASELINE_DIR.mkdir(exist_ok=True)
        path.write_bytes(actual.read_bytes())
    assert path.exists(), f"missing {path}; see tests/images.py to create it"
    result = compare_images(str(path), str(actual), tol=tol)
    assert result is None, result
