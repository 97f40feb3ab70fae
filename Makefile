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

# The main job on the built-in digits set (no download): digital vs analog. One drn 64-32-10
# circuit trained twice from the same conductances on the same batches -- NumPy twin and
# ngspice -- with the comparison table printed and report.json + four PNGs in runs/demo
# (~40 s on 2 cores; Adam lr 2e-7 S reached 97.2 % test accuracy in 10 epochs).
demo: setup
	$(VENV)/bin/analog-eqprop compare --dataset digits --builder drn --sizes 64,32,10 --epochs 10 \
	  --optimizer adam --learning-rates 2e-7 --beta 1e-6 --batch-size 20 --out runs/demo --overwrite

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
