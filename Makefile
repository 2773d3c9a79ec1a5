# The two set-up commands are `make test` and `make reports`; each builds its virtual
# environment first when it is missing or older than the pinned dependencies.
#
#   PYTHON=path/to/python3.12   another interpreter; its environment is .venv-3.12/
#   CONSTRAINTS=constraints-min.txt   the oldest supported versions; environment .venv-min-<version>/
PYTHON ?= $(shell command -v python3.11 || command -v python3)
CONSTRAINTS ?= constraints.txt
PYVER := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
ifeq ($(CONSTRAINTS),constraints.txt)
ifeq ($(origin PYTHON),file)
VENV ?= .venv
else
VENV ?= .venv-$(PYVER)
endif
else
VENV ?= .venv-$(basename $(notdir $(CONSTRAINTS)))-$(PYVER)
endif
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS ?= dev,docs

.PHONY: test test-lib reports docs dist data bench clean-venv

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c $(CONSTRAINTS) -e ".[$(EXTRAS)]"
	@touch $(STAMP)

# The whole suite: unit tests, docstring examples and every report notebook
# (src/rwe_cart/notebooks, run by nbmake).
test: $(STAMP)
	$(PY) -m pytest tests src/rwe_cart --nbmake

# The suite without executing the report notebooks (used for the other Python versions and
# the minimum-versions environment in CI).
test-lib: $(STAMP)
	$(PY) -m pytest tests src/rwe_cart

# DATA=path/to/registry.csv (and LABS=path/to/labs.csv) renders the reports on a user's own
# cohort; ADSL=... ADTTE=... (and ADRS=...) on a trial's ADaM tables; SUPPRESS_BELOW=k shows counts
# below k as "<k".
reports: $(STAMP)
	$(PY) -m rwe_cart.report --out reports $(if $(DATA),--data $(DATA)) \
		$(if $(LABS),--labs $(LABS)) $(if $(ADSL),--adsl $(ADSL)) $(if $(ADTTE),--adtte $(ADTTE)) \
		$(if $(ADRS),--adrs $(ADRS)) \
		$(if $(SUPPRESS_BELOW),--suppress-below $(SUPPRESS_BELOW))

# HTML documentation in docs/_build/html; any warning fails the build.
docs: $(STAMP)
	rm -rf docs/_build docs/api/generated
	$(PY) -m sphinx -n -W --keep-going -b html docs docs/_build/html

# Wheel and sdist in dist/, checked with twine.
dist: $(STAMP)
	rm -rf dist
	$(PY) -m build --outdir dist
	$(PY) -m twine check --strict dist/*

data: $(STAMP)
	$(PY) -m rwe_cart.synthetic.write data/synthetic

bench: $(STAMP)
	$(PY) benchmarks/run.py

clean-venv:
	rm -rf .venv .venv-*
