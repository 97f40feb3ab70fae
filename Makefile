# Set-up and main jobs. `make demo` and `make test` each do all set-up first on a fresh
# Debian machine (as root, or with sudo): Debian's ngspice packages, a virtualenv in .venv,
# and this package installed editable with its test extras. `make setup` is quick when done.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.setup-stamp
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBS   := ngspice libngspice0 libngspice0-dev

.PHONY: setup torch demo test test-all bench-seed clean fashion-mnist mutation

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

# CPU torch, so that the torch sweep tests (tests/test_perf_paths.py) run instead of skipping.
# Pinned exactly; pip takes the CPU wheel where its find-links / index offer one (CI and the
# project's machines), and this target refuses a plan that would pull CUDA packages (several GB):
# it then installs nothing and says so (those tests skip, and .ci/run fails on the skip).
TORCH := torch==2.13.0
TORCH_STAMP := $(VENV)/.torch-stamp

torch: $(TORCH_STAMP)

$(TORCH_STAMP): $(STAMP)
	@$(PY) -m pip install --quiet --dry-run --report $(VENV)/torch-plan.json '$(TORCH)' && \
	if $(PY) -c "import json, sys; plan = json.load(open('$(VENV)/torch-plan.json'))['install']; \
	    sys.exit(any(p['metadata']['name'].lower().startswith('nvidia') for p in plan))"; then \
	  $(PY) -m pip install --quiet '$(TORCH)' && touch $@; \
	else echo "make torch: pip would install a CUDA build of $(TORCH) (several GB); not installed."; \
	  echo "  Install a CPU wheel of $(TORCH) into $(VENV) to run the torch tests."; fi

# The default test suite (slow tests excluded; see pyproject.toml).
test: setup torch
	$(PY) -m pytest

test-all: setup torch
	$(PY) -m pytest -m "slow or not slow"

# Mutation testing of the core physics modules against their fast tests (benchmarks/mutation.py
# holds the module list; results in build/mutation/, figures in benchmarks/BENCHMARKS.md). Hours
# on 2 shared cores: niced, one mutant at a time unless MUTATION_ARGS says otherwise, e.g.
#   make mutation MUTATION_ARGS="--modules eqprop/core.py --max-children 2"
MUTATION_ARGS ?=
mutation: setup
	nice -n 10 $(PY) benchmarks/mutation.py $(MUTATION_ARGS)

bench-seed: setup
	$(PY) benchmarks/seed_table2.py

fashion-mnist:
	@dpkg -s dataset-fashion-mnist >/dev/null 2>&1 || $(SUDO) apt-get install -y dataset-fashion-mnist || \
	  { $(SUDO) apt-get update && $(SUDO) apt-get install -y dataset-fashion-mnist; }

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache runs
