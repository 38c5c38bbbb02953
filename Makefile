# Two commands do everything on a fresh machine (only Python 3.11 needed):
#   make book   builds the book into _build/html/
#   make test   runs every check CI runs
# Both create .venv and install what they need first.

PYTHON ?= python3
# One BLAS thread: the chapters' small products are slower threaded on two cores, and
# single-threaded results are the same on every machine.
export OPENBLAS_NUM_THREADS := 1
export OMP_NUM_THREADS := 1
VENV   := .venv
BIN    := $(VENV)/bin
BOOK_DEPS := $(VENV)/.book-deps
DEV_DEPS  := $(VENV)/.dev-deps
VENDOR    := _vendor
MATHJAX_VERSION      := 3.2.2
MATHJAX    := $(VENDOR)/mathjax/tex-mml-chtml.js
OFFLINE    := $(MATHJAX)
JB_FLAGS  := -W -n --keep-going
# nbval: one kernel per notebook, two notebooks at a time on CI's two cores.
NBVAL_FLAGS := --nbval --nbval-sanitize-with book/sanitize.cfg -p no:cacheprovider -n 2 --dist loadfile

# numpy's dispatch of SIMD loops turned off, so numpy rounds like a CPU without them
# (tools/other_cpu.py; OpenBLAS's own variables are never touched).
OTHER_CPU = NPY_DISABLE_CPU_FEATURES="$$($(BIN)/python tools/other_cpu.py)"
# numpy's dispatch held to the lowest tier this CPU has (nothing changes on a CPU with one)
LOWEST_TIER = NPY_DISABLE_CPU_FEATURES="$$(.venv-newest/bin/python tools/other_cpu.py --lowest-tier)"

# The second environments of `make compat`: the lowest versions requirements.txt allows
# (requirements-floors.txt) on Python 3.11, and the newest versions on the newest Python
# the project claims. Found on PATH or in pyenv; set FLOORS_PYTHON / NEWEST_PYTHON to choose.
FLOORS_PYTHON ?= $(firstword $(shell command -v python3.11) python3)
NEWEST_PYTHON ?= $(firstword $(shell command -v python3.13 >/dev/null 2>&1 && python3.13 -c 'import sys; print(sys.executable)' 2>/dev/null) $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python3.13) python3.13)

.PHONY: book test lint unit nbval other-cpu other-cpu-unit book-strict browser compat floors \
	newest standalone bench data lab clean help

help:
	@echo "make book   build the book into _build/html/ (creates .venv)"
	@echo "make test   lint, unit tests, again with another CPU's numpy rounding, warning-free"
	@echo "            book build executed with that rounding and compared with the stored"
	@echo "            outputs as nbval does, every page checked offline"
	@echo "make compat the unit tests with the floor versions (Python 3.11) and the newest"
	@echo "            (Python 3.13), nbval with the newest; every chapter run alone with"
	@echo "            only the wheel at the floor versions, compared with the stored outputs"
	@echo "make lab    open the chapters in JupyterLab with optimlib installed"
	@echo "make bench  optimlib vs torch.optim, and the book's execution times: benchmarks/RESULTS.md"
	@echo "make data   re-run chapter 9's tuning sweep (~20 min) into the book package's data file"
	@echo "make clean  remove the build and the virtual environment"

# --no-compile: pip byte-compiles every module of every package it installs (torch alone
# installs in 14 s without, 36 s with); Python compiles what a run imports, once, on import.
$(BOOK_DEPS): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-compile --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile -r requirements.txt
	touch $@

$(DEV_DEPS): $(BOOK_DEPS) requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-compile -r requirements-dev.txt
	touch $@

# MathJax 3 comes from the npm registry, pinned, and is served by the book itself, so a
# reader without network sees rendered formulas.
$(MATHJAX):
	rm -rf _build/npm-mathjax && mkdir -p _build/npm-mathjax
	cd _build/npm-mathjax && npm install --silent --no-audit --no-fund mathjax@$(MATHJAX_VERSION)
	mkdir -p $(VENDOR)/mathjax/output/chtml/fonts $(VENDOR)/mathjax/input/tex
	cp _build/npm-mathjax/node_modules/mathjax/es5/tex-mml-chtml.js $(VENDOR)/mathjax/
	cp _build/npm-mathjax/node_modules/mathjax/LICENSE $(VENDOR)/mathjax/
	cp -r _build/npm-mathjax/node_modules/mathjax/es5/output/chtml/fonts/woff-v2 $(VENDOR)/mathjax/output/chtml/fonts/
	cp -r _build/npm-mathjax/node_modules/mathjax/es5/input/tex/extensions $(VENDOR)/mathjax/input/tex/

# tools/build_book.py is `jupyter-book build` with pages read and written by two processes:
# the chapters' notebooks execute two at a time.
book: $(BOOK_DEPS) $(OFFLINE)
	$(BIN)/python tools/build_book.py . $(JB_FLAGS)
	@echo "The book is in _build/html/ (open _build/html/index.html)."

# make test executes every chapter once: the strict build runs them with another CPU's
# rounding (numpy's SIMD loops off, OTHER_CPU) and tools/compare_executed.py compares what
# they printed with the stored outputs as nbval does. make compat runs the chapters with
# this machine's own rounding (standalone: each alone, compared) and with numpy at its
# lowest SIMD tier (newest: nbval); `make nbval` and `make other-cpu` run nbval itself,
# e.g. without building.
test: BOOK_ROUNDING = $(OTHER_CPU)
test: lint unit other-cpu-unit book-strict browser

lint: $(DEV_DEPS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: $(DEV_DEPS)
	$(BIN)/python -m pytest tests -q -n 2

# pytest exits 5 when it collects nothing (no chapter notebooks yet): that is a pass.
nbval: $(DEV_DEPS)
	$(BIN)/python -m pytest book $(NBVAL_FLAGS) -q; status=$$?; \
	  if [ $$status -eq 5 ]; then echo "nbval: no notebooks yet"; else exit $$status; fi

# The numerical unit tests and nbval once more, with numpy's SIMD loops off: another
# CPU's rounding. The site, scrubber and file checks under tests/ compute nothing that
# rounding could change, nor do the tests of how a figure is drawn and encoded (a reused
# layout against a fresh one, PNG bytes, stacked copies: each compares two drawings made
# in one process); a rounding difference shows in any random example, so the
# properties run with a fifth of their examples (the other-cpu profile, tests/conftest.py).
DRAWING_TESTS := tests/book/test_widgets.py tests/book/test_png.py tests/book/test_stacked.py
other-cpu: other-cpu-unit
	$(OTHER_CPU) $(BIN)/python -m pytest book $(NBVAL_FLAGS) -q

other-cpu-unit: $(DEV_DEPS)
	@echo "other-cpu: $(OTHER_CPU)"
	$(OTHER_CPU) $(BIN)/python -m pytest tests/optimlib tests/book -q -n 2 -p no:cacheprovider \
	  --hypothesis-profile=other-cpu $(addprefix --ignore=,$(DRAWING_TESTS))

# Each builds its environments from nothing (not .venv). These runs check that the other
# versions work, which any example shows: the properties run with a fifth of their
# examples (make unit runs them all). floors runs the unit tests, then every chapter
# alone from the wheel under the same floor versions (standalone), compared with the
# stored outputs; newest runs the unit tests and nbval, with numpy held to the lowest
# SIMD tier this CPU has (LOWEST_TIER: AVX2 on an AVX-512 machine). This CPU's own
# rounding is checked by make test and standalone, the baseline's by other-cpu.
compat: floors newest

floors:
	rm -rf .venv-floors && $(FLOORS_PYTHON) -m venv .venv-floors
	.venv-floors/bin/python -m pip install --quiet --no-compile --upgrade pip
	.venv-floors/bin/python -m pip install --quiet --no-compile -c requirements-floors.txt -r requirements-dev.txt
	.venv-floors/bin/python -m pip list 2>/dev/null | grep -iE '^(numpy|matplotlib|ipywidgets|ipykernel|myst-nb) '
	.venv-floors/bin/python -m pytest tests -q -n 2 -p no:cacheprovider --hypothesis-profile=other-cpu
	$(MAKE) standalone COMPARE_PYTHON=.venv-floors/bin/python

# torch has no CPU-only wheel for this Python on the package index (only a multi-GB CUDA
# build): the tests that compare with torch skip here and run in .venv and floors.
newest:
	rm -rf .venv-newest && $(NEWEST_PYTHON) -m venv .venv-newest
	.venv-newest/bin/python -m pip install --quiet --no-compile --upgrade pip
	grep -v -e '^torch' -e '^-r' requirements-dev.txt > .venv-newest/test-tools.txt
	.venv-newest/bin/python -m pip install --quiet --no-compile --upgrade -r requirements.txt \
	  -r .venv-newest/test-tools.txt
	.venv-newest/bin/python --version
	.venv-newest/bin/python -m pip list 2>/dev/null | grep -iE '^(numpy|matplotlib|ipywidgets|ipykernel|myst-nb) '
	@echo "newest: $(LOWEST_TIER)"
	$(LOWEST_TIER) .venv-newest/bin/python -m pytest tests -q -n 2 -p no:cacheprovider \
	  --hypothesis-profile=other-cpu
	$(LOWEST_TIER) .venv-newest/bin/python -m pytest book $(NBVAL_FLAGS) -q

# Every chapter alone, as on Colab or a hub: the wheel and its extras only, at the floor
# versions (an old image's), then its outputs compared with the stored ones as nbval
# does, by a Python that has nbval (COMPARE_PYTHON; the student's environment has none),
# without the glue records (glue needs MyST-NB, which a student's environment lacks).
COMPARE_PYTHON ?= $(BIN)/python
standalone: $(if $(filter $(BIN)/python,$(COMPARE_PYTHON)),$(DEV_DEPS))
	rm -rf .venv-standalone _build/wheel _build/standalone && $(FLOORS_PYTHON) -m venv .venv-standalone
	.venv-standalone/bin/python -m pip install --quiet --no-compile --upgrade pip
	.venv-standalone/bin/python -m pip wheel --quiet --no-deps --wheel-dir _build/wheel .
	.venv-standalone/bin/python -m pip install --quiet --no-compile -c requirements-floors.txt \
	  "$$(ls _build/wheel/optimlib-*.whl)[book]" "$$(grep '^ipykernel' requirements.txt)" nbclient
	.venv-standalone/bin/python -m pip list 2>/dev/null | grep -iE '^(numpy|matplotlib|ipywidgets|ipykernel) '
	.venv-standalone/bin/python tools/run_alone.py --executed _build/standalone $$(ls book/[0-9]*.ipynb)
	$(COMPARE_PYTHON) tools/compare_executed.py --sanitize-with book/sanitize.cfg --without-glue \
	  book _build/standalone

# BOOK_ROUNDING: empty (this machine's rounding) unless make test sets it, as above.
book-strict: $(DEV_DEPS) $(OFFLINE)
	rm -rf _build/html _build/.doctrees _build/jupyter_execute
	$(BOOK_ROUNDING) $(BIN)/python tools/build_book.py . $(JB_FLAGS)
	$(BIN)/python tools/compare_executed.py --sanitize-with book/sanitize.cfg book _build/jupyter_execute/book

# Every page of the built book in headless Chromium with no network (system Chromium:
# apt-get install chromium); screenshots of two chapters land in _build/screenshots/.
# It needs only the book's packages and websocket-client (not torch: the Pages workflow
# runs it too).
browser: $(BOOK_DEPS)
	$(BIN)/python -m pip install --quiet --no-compile "$$(grep '^websocket-client' requirements-dev.txt)"
	$(BIN)/python tools/browser_check.py _build/html --screenshots _build/screenshots

bench: $(DEV_DEPS) $(OFFLINE)
	$(BIN)/python benchmarks/bench_optimizers.py
	$(BIN)/python benchmarks/bench_book.py
	$(BIN)/python benchmarks/bench_explorers.py

# Chapter 9 reads this file: the sweep is far beyond a notebook's 10 s budget, and
# tests/test_head_to_head_data.py checks the file against a reduced sweep.
data: $(BOOK_DEPS)
	$(BIN)/python benchmarks/head_to_head.py

lab: $(BOOK_DEPS)
	$(BIN)/python -m pip install --quiet --no-compile 'jupyterlab>=4,<5'
	$(BIN)/jupyter lab book/

clean:
	rm -rf _build $(VENDOR) $(VENV) .venv-floors .venv-newest .venv-standalone .pytest_cache .ruff_cache .hypothesis
