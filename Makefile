# The two set-up commands are `make test` and `make reports`; each builds .venv/ first
# when it is missing or older than the pinned dependencies.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test reports data bench clean-venv

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	@touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest tests --nbmake notebooks

# DATA=path/to/registry.csv (and LABS=path/to/labs.csv) renders the reports on a user's own
# cohort; ADSL=... ADTTE=... (and ADRS=...) on a trial's ADaM tables; SUPPRESS_BELOW=k shows counts
# below k as "<k".
reports: $(STAMP)
	$(PY) -m rwe_cart.report --notebooks notebooks --out reports $(if $(DATA),--data $(DATA)) \
		$(if $(LABS),--labs $(LABS)) $(if $(ADSL),--adsl $(ADSL)) $(if $(ADTTE),--adtte $(ADTTE)) \
		$(if $(ADRS),--adrs $(ADRS)) \
		$(if $(SUPPRESS_BELOW),--suppress-below $(SUPPRESS_BELOW))

data: $(STAMP)
	$(PY) -m rwe_cart.synthetic.write data/synthetic

bench: $(STAMP)
	$(PY) benchmarks/run.py

clean-venv:
	rm -rf $(VENV)
