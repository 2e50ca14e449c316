# hierarch: two commands.  `make demo` and `make test` both set everything up from scratch.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint bench clean notebooks lock

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -c constraints.txt -e ".[test]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hierarch run models/rats.toml --out output/rats

# pytest-xdist workers: a worker per core of the 2-core machines this is made for
TEST_WORKERS ?= 2

test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

# regenerate every notebook from its make_*.py and store it executed at its default settings
notebooks: $(STAMP)
	cd notebooks && for f in make_*.py; do ../$(BIN)/python $$f --execute || exit 1; done

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

lint: $(STAMP)
	$(BIN)/ruff check hierarch tests benchmarks
	$(BIN)/ruff format --check hierarch tests benchmarks
	$(BIN)/lint-imports

# record the installed versions as the constraints of the next install (after upgrading on
# purpose: `$(BIN)/python -m pip install -U -e ".[test]"`, then `make test`, then `make lock`)
lock: $(STAMP)
	{ sed -n '1,3p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable; } > constraints.tmp
	mv constraints.tmp constraints.txt

clean:
	rm -rf $(VENV) output .pytest_cache
