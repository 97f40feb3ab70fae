# Set-up and main jobs. `make demo` and `make test` each do all set-up first on a fresh
# Debian machine (as root, or with sudo): Debian's ngspice packages, a virtualenv in .venv,
# and this package installed editable with its test extras. `make setup` is quick when done.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.setup-stamp
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBS   := ngspice libngspice0 libngspice0-dev

.PHONY: setup demo test test-all bench-seed clean fashion-mnist

setup: $(STAMP)

$(STAMP): pyproject.toml
	@dpkg -s $(DEBS) >/dev/null 2>&1 || { \
	  echo "installing Debian packages: $(DEBS)"; \
	  $(SUDO) apt-get install -y $(DEBS) || { $(SUDO) apt-get update && $(SUDO) apt-get install -y $(DEBS); }; }
	@$(PYTHON) -m venv --help >/dev/null 2>&1 || { $(SUDO) apt-get update && $(SUDO) apt-get install -y python3-venv python3-pip; }
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# The main job on the built-in digits set (no download).
demo: setup
	$(VENV)/bin/analog-eqprop train --dataset digits --sizes 64,64,10 --epochs 10 \
	  --learning-rates 0.4,0.2 --beta 1.0 --out runs/demo --overwrite

# The default test suite (slow tests excluded; see pyproject.toml).
test: setup
	$(PY) -m pytest

test-all: setup
	$(PY) -m pytest -m "slow or not slow"

bench-seed: setup
	$(PY) benchmarks/seed_table2.py

fashion-mnist:
	$(SUDO) apt-get install -y dataset-fashion-mnist

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache runs
