# Every target creates .venv and installs the pinned requirements if needed,
# so each one works on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= build
NOTEBOOK_ARGS ?=

.PHONY: install test ablation lab book sync clean check-references

install: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

# papermill shows its cell counter; a training grid adds one line per finished run to this terminal
# ("grid 7/15 done, 2.1 min elapsed, ETA 2.4 min (run: test top-1 ...)", actionrec.experiments.progress).
ablation: $(STAMP)
	@mkdir -p $(OUT)
	$(BIN)/papermill notebooks/ablation_ratio.ipynb $(OUT)/ablation_ratio.ipynb -p out_dir $(abspath $(OUT))/ablation_ratio $(NOTEBOOK_ARGS)
	@echo
	@echo "Executed notebook: $(OUT)/ablation_ratio.ipynb"
	@echo "Table:             $(OUT)/ablation_ratio/results.csv (and results.json)"
	@echo "Plots:             $(OUT)/ablation_ratio/strip.png, accuracy_vs_gmacs.png"

# Any notebook by name, e.g. `make run-ablation_srtg_placement` or `make run-srtg_cycle_consistency`:
# executed into $(OUT)/NAME.ipynb, results in $(OUT)/NAME/.
run-%: $(STAMP)
	@test -f notebooks/$*.ipynb || { echo "no notebook notebooks/$*.ipynb; choose one of: $(basename $(notdir $(wildcard notebooks/*.ipynb)))"; exit 2; }
	@mkdir -p $(OUT)
	$(BIN)/papermill notebooks/$*.ipynb $(OUT)/$*.ipynb -p out_dir $(abspath $(OUT))/$* $(NOTEBOOK_ARGS)
	@echo
	@echo "Executed notebook: $(OUT)/$*.ipynb"
	@echo "Results:           $(OUT)/$*/ (results.csv, results.json, *.png)"

lab: $(STAMP)
	cd notebooks && ../$(BIN)/jupyter lab

# Build the book offline: executes the notebooks with papermill into
# book/_generated (finished training runs are reused), then Sphinx with
# warnings as errors.
book: $(STAMP)
	$(BIN)/python book/build.py $(NOTEBOOK_ARGS)

# List the committed reference results (book/results/<chapter>/) that this code no longer makes:
# one line per chapter, exit 1 when any is stale (recomputes code fingerprints; no training).
check-references: $(STAMP)
	$(BIN)/python -m actionrec.experiments.references book/results

# Keep each notebooks/NAME.py and NAME.ipynb in step (edit the .py).
sync: $(STAMP)
	$(BIN)/jupytext --sync notebooks/*.py

clean:
	rm -rf $(OUT) book/_build book/_generated runs
