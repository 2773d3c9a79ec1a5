"""The test tree mirrors the package (tests/survival, tests/exposure, tests/plots,
tests/loading). This file sits at its root so that pytest puts tests/ on the import path,
where every test module finds the shared helpers: reference.py (R reference values),
images.py (rendered-figure comparison) and paths.py."""
