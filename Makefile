# The two commands a user needs: `make demo` and `make test`. Each does all set-up first.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.scicmr-installed

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup lint-imports test test-all test-fast demo bench clean

$(STAMP): pyproject.toml constraints.txt scripts/setup.sh
	VENV=$(VENV) bash scripts/setup.sh
	touch $(STAMP)

setup: $(STAMP)

# The layer rule of docs/architecture.md (contract in pyproject.toml): an arrow back up fails.
lint-imports: $(STAMP)
	$(VENV)/bin/lint-imports --no-cache

# Locally `slow` tests are deselected (tests/conftest.py); CI (CI=true) runs every test.
test: lint-imports
	$(PY) -m pytest -q

test-all: lint-imports
	CI=true $(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

demo: $(STAMP)
	$(VENV)/bin/scicmr demo

bench: $(STAMP)
	for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
