# MMR-Bench companion. `make` (or `make help`) lists the targets; `make figures` and `make test` are the two that matter.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SEED ?= 0
SCALE ?= 1.0
# Which official release make data-official fetches: 1 = MMR-Bench (the paper's), 2 = MMR-Bench V2 (data/official-v2).
VERSION ?= 1
# MATH-V folder for make data-mathv; empty = beside the checkout, then an earlier download, then the pinned download.
MATHV ?=
# Table make figures runs on: empty = the simulated benchmark (outputs to figures/); official, official-v2, mathv or a
# path to a table in the official schema (outputs to figures-<name>/, executed copies to build/notebooks-<name>/).
DATA ?=
# Notebook outputs make book shows: stored (the paired .ipynb, small defaults) or executed (make figures' copies).
BOOK_FROM ?= stored
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.py))
# The notebooks make figures runs: those with a full-size parameters file (08_sweep_point is driven by make sweep).
FIGURE_NOTEBOOKS := $(sort $(patsubst notebooks/params/%.full.yaml,notebooks/%.py,$(wildcard notebooks/params/*.full.yaml)))
BUILD_NB := build/notebooks
export MPLBACKEND := Agg
export PYTHONHASHSEED := 0
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM := false
# No progress bars in what make runs (nbval, papermill, logs): executed notebooks store none. Readers in Jupyter or a
# terminal get them (mmr_utils/_progress.py); MMR_PROGRESS=1 make ... shows them here too.
export MMR_PROGRESS ?= 0
# Numerical pins: the same code path, so the same last bits, on every x86-64 CPU (mmr_utils/numerics.py PINS, which
# tests/test_numerics.py checks these against; measured in benchmarks/results/isa_invariance.md).
export ATEN_CPU_CAPABILITY := avx2
export MKL_CBWR := COMPATIBLE
export ONEDNN_MAX_CPU_ISA := AVX2
export OPENBLAS_CORETYPE := Haswell
export OPENBLAS_L2_SIZE := 512

BINDER_REPO ?= $(shell git remote get-url origin 2>/dev/null | sed -nE 's#^(git@github\.com:|https://github\.com/)([^/]+/[^/]+)$$#\2#p' | sed 's#\.git$$##')

.PHONY: binder-url lint help venv data data-official data-mathv check-figures test-fresh-clone figures paper test test-unit test-notebooks check-pairs sync bench \
        bench-embed sweep clean-cache clean book book-screenshots

help: ## List the targets (this message)
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-15s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

# The venv's Jupyter kernel carries the numerical pins too, so notebooks opened in Jupyter compute like make figures.
$(VENV)/.kernel-pinned: $(STAMP) mmr_utils/numerics.py
	$(PY) -c "from mmr_utils.numerics import main; main(['--kernel', 'python3'])"
	touch $@

venv: $(STAMP) $(VENV)/.kernel-pinned ## Create the virtual environment (.venv, Python 3.11), install the pinned requirements + package, pin the kernel

data: data/simulated/MMR-Bench.csv ## Write the simulated benchmark (10,370 instances, 10 models) to data/simulated

data/simulated/MMR-Bench.csv: $(STAMP) $(wildcard mmr_utils/data/simulator/*.py mmr_utils/data/simulator/*.json)
	$(PY) -m mmr_utils data --out data/simulated --scale $(SCALE) --seed $(SEED)

data-official: $(STAMP) ## Download the official release (pinned revision; VERSION=2: MMR-Bench V2 to data/official-v2; needs the hub)
	HF_HUB_OFFLINE=0 $(PY) -m mmr_utils data-official --version $(VERSION)

data-mathv: $(STAMP) ## Get + convert MATH-V to data/mathv: MATHV=path, else ../shared/data/math-v, else pinned download
	$(PY) -m mmr_utils data-mathv $(if $(MATHV),--source $(MATHV),)

check-figures: $(STAMP) ## Regenerate every figure/table from a clean state (temp folder) and fail on any table difference
	$(PY) -m tools check-figures

test-fresh-clone: $(STAMP) ## Run notebook 07 under nbval as on a fresh clone (the folder beside the checkout hidden)
	cd notebooks && MMR_NO_SHARED_DATA=1 ../$(PY) -m pytest --nbval-lax --nbval-sanitize-with ../tests/nbval_sanitize.cfg \
	  -p no:cacheprovider -q 07_real_data_mathv.ipynb

ifeq ($(strip $(DATA)),)
figures: $(STAMP) $(VENV)/.kernel-pinned data ## Run every notebook at full size (notebooks/params/*.full.yaml) -> figures/; DATA=official|official-v2|mathv|PATH -> figures-<name>/
	@mkdir -p $(BUILD_NB)
	@for nb in $(FIGURE_NOTEBOOKS); do \
	  name=$$(basename $$nb .py); params=notebooks/params/$$name.full.yaml; \
	  echo "== $$name"; \
	  env -u MPLBACKEND $(PY) -m tools run-notebook $$nb --params $$params --out $(BUILD_NB)/$$name.ipynb \
	    || { echo "make figures: notebook $$name failed (executed copy with the failing cell: $(BUILD_NB)/$$name.ipynb)"; exit 1; }; \
	  $(PY) -m tools store-outputs $(BUILD_NB)/$$name.ipynb notebooks/$$name.ipynb --params $$params || exit 1; \
	done
else
figures: $(STAMP) $(VENV)/.kernel-pinned
	$(PY) -m tools figures --data "$(DATA)" $(if $(and $(filter mathv,$(DATA)),$(MATHV)),--mathv "$(MATHV)",)
endif

paper: $(STAMP) ## Download the pinned official release (needs the hub), then make figures DATA=official -> figures-official/
	$(MAKE) data-official VERSION=1
	$(MAKE) figures DATA=official

test: $(STAMP) check-pairs test-unit test-notebooks ## The README test command: pair check, pytest, nbval (CI adds test-fresh-clone, check-figures)

test-unit: $(STAMP) ## Unit and property tests (pytest)
	$(PY) -m pytest tests -q

test-notebooks: $(STAMP) ## Execute every notebook at its small defaults under nbval (lax)
	cd notebooks && ../$(PY) -m pytest --nbval-lax --nbval-sanitize-with ../tests/nbval_sanitize.cfg -p no:cacheprovider -q \
	  $(notdir $(NOTEBOOKS:.py=.ipynb))

check-pairs: $(STAMP) ## Fail when a notebook's .py and .ipynb are out of sync
	$(PY) -m tools check-pairs

lint: $(STAMP) ## Ruff over the package, tests, notebooks and benchmarks (configured in pyproject.toml), and the pair check
	$(PY) -m ruff check .
	$(PY) -m tools check-pairs

sync: $(STAMP) ## Re-pair the notebooks after editing the .py sources (jupytext --sync)
	$(PY) -m jupytext --sync $(NOTEBOOKS)

bench: $(STAMP) ## Benchmarks: exact budget sweep vs per-threshold loop; router fit+predict times; torch threads; ensembles; worker processes; make figures' training cost
	$(PY) benchmarks/bench_sweep.py
	$(PY) benchmarks/bench_routers.py
	$(PY) benchmarks/bench_speed.py
	cd benchmarks && ../$(PY) bench_ensemble.py
	$(PY) benchmarks/bench_workers.py
	$(PY) benchmarks/bench_figures_cost.py

bench-embed: $(STAMP) ## Embedding throughput (CLIP ViT-B/32, several batch sizes) and cache-hit rerun time
	$(PY) benchmarks/bench_embed.py

sweep: $(STAMP) data ## Papermill parameter sweep (router x train fraction x seed), aggregated to a figure
	$(PY) -m tools sweep --config notebooks/params/sweep.yaml

book: $(STAMP) ## Tutorial site of the executed notebooks -> build/book (BOOK_FROM=executed: make figures' copies)
	$(PY) -m tools.book --from $(BOOK_FROM) --out build/book

book-screenshots: book ## Open every page of build/book in headless Chromium; screenshots -> build/book-screenshots
	$(PY) -m tools.book_screenshots --site build/book --out build/book-screenshots

clean-cache: $(STAMP) ## Remove the embedding cache, saved study and run results, and leftover temporary files
	$(PY) -c "from mmr_utils.features.cache import clear_cache; clear_cache()"

binder-url: ## Print the Binder link for BINDER_REPO=owner/name (default: the GitHub origin remote)
	@if [ -z "$(BINDER_REPO)" ]; then echo "No GitHub origin remote: run make binder-url BINDER_REPO=owner/name"; exit 1; fi
	@echo "https://mybinder.org/v2/gh/$(BINDER_REPO)/main?labpath=notebooks%2F01_data_tour.ipynb"

clean: ## Remove build outputs (executed notebooks); keeps data/, figures/ and the venv
	rm -rf build .pytest_cache
