"""Rendered-image comparison shared by the figure tests.

A baseline is a 60-dpi PNG in tests/baseline/; after an intended change to a figure,
regenerate it with ``RWE_CART_UPDATE_BASELINE=1 .venv/bin/python -m pytest tests/...``
and look at the new PNG before committing it.
"""
import os
from pathlib import Path

from matplotlib.testing.compare import compare_images

BASELINE_DIR = Path(__file__).parent / "baseline"


def check_baseline(fig, name: str, tmp_path: Path, *, tol: float = 1.0) -> None:
    """Compare ``fig`` rendered at 60 dpi with ``tests/baseline/<name>`` (RMS ≤ ``tol``)."""
    actual = tmp_path / name
    fig.savefig(actual, dpi=60)
    path = BASELINE_DIR / name
    if os.environ.get("RWE_CART_UPDATE_BASELINE"):
        BASELINE_DIR.mkdir(exist_ok=True)
        path.write_bytes(actual.read_bytes())
    assert path.exists(), f"missing {path}; see tests/images.py to create it"
    result = compare_images(str(path), str(actual), tol=tol)
    assert result is None, result
