# hierarch: two commands.  `make demo` and `make test` both set everything up from scratch.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow lint bench clean notebooks

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e ".[test]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hierarch run models/rats.toml --out output/rats

test: $(STAMP)
	$(BIN)/python -m pytest

# regenerate every notebook from its make_*.py and store it executed at its default settings
notebooks: $(STAMP)
	cd notebooks && for f in make_*.py; do ../$(BIN)/python $$f --execute || exit 1; done

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow

lint: $(STAMP)
	$(BIN)/ruff check hierarch tests benchmarks
	$(BIN)/ruff format --check hierarch tests benchmarks
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) output .pytest_cache
