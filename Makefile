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
MATHJAX   := _mjstatic/mathjax/tex-mml-chtml.js
JB_FLAGS  := -W -n --keep-going
# nbval: one kernel per notebook, two notebooks at a time on CI's two cores.
NBVAL_FLAGS := --nbval --nbval-sanitize-with book/sanitize.cfg -p no:cacheprovider -n 2 --dist loadfile

.PHONY: book test lint unit nbval book-strict bench lab clean help

help:
	@echo "make book   build the book into _build/html/ (creates .venv)"
	@echo "make test   lint, unit tests, notebook re-execution (nbval), warning-free book build"
	@echo "make lab    open the chapters in JupyterLab with optimlib installed"
	@echo "make bench  optimlib vs torch.optim, and the book's execution times: benchmarks/RESULTS.md"
	@echo "make clean  remove the build and the virtual environment"

$(BOOK_DEPS): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(DEV_DEPS): $(BOOK_DEPS) requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# MathJax 3 from the npm registry, served by the book itself: formulas render offline.
$(MATHJAX):
	rm -rf _build/npm-mathjax && mkdir -p _build/npm-mathjax
	cd _build/npm-mathjax && npm install --silent --no-audit --no-fund mathjax@3
	mkdir -p _mjstatic/mathjax/output/chtml/fonts _mjstatic/mathjax/input/tex
	cp _build/npm-mathjax/node_modules/mathjax/es5/tex-mml-chtml.js _mjstatic/mathjax/
	cp _build/npm-mathjax/node_modules/mathjax/LICENSE _mjstatic/mathjax/
	cp -r _build/npm-mathjax/node_modules/mathjax/es5/output/chtml/fonts/woff-v2 _mjstatic/mathjax/output/chtml/fonts/
	cp -r _build/npm-mathjax/node_modules/mathjax/es5/input/tex/extensions _mjstatic/mathjax/input/tex/

book: $(BOOK_DEPS) $(MATHJAX)
	$(BIN)/jupyter-book build . $(JB_FLAGS)
	@echo "The book is in _build/html/ (open _build/html/index.html)."

test: lint unit nbval book-strict

lint: $(DEV_DEPS)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: $(DEV_DEPS)
	$(BIN)/python -m pytest tests -q -n 2

# pytest exits 5 when it collects nothing (no chapter notebooks yet): that is a pass.
nbval: $(DEV_DEPS)
	$(BIN)/python -m pytest book $(NBVAL_FLAGS) -q; status=$$?; \
	  if [ $$status -eq 5 ]; then echo "nbval: no notebooks yet"; else exit $$status; fi

book-strict: $(DEV_DEPS) $(MATHJAX)
	rm -rf _build/html _build/.doctrees _build/jupyter_execute
	$(BIN)/jupyter-book build . $(JB_FLAGS)

bench: $(DEV_DEPS)
	$(BIN)/python benchmarks/bench_optimizers.py
	$(BIN)/python benchmarks/bench_book.py

lab: $(BOOK_DEPS)
	$(BIN)/python -m pip install --quiet 'jupyterlab>=4,<5'
	$(BIN)/jupyter lab book/

clean:
	rm -rf _build _mjstatic $(VENV) .pytest_cache .ruff_cache .hypothesis
