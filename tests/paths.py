"""Where the tests find the repository and their own data files, wherever the test module
sits under tests/ (pytest puts tests/ on the import path: ``pythonpath`` in pyproject.toml)."""
from pathlib import Path

TESTS = Path(__file__).resolve().parent
#: The repository root.
ROOT = TESTS.parent
#: Test data written by the R scripts and fixtures next to them (tests/data).
TEST_DATA = TESTS / "data"
