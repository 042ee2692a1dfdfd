# sciflow — every target works from a fresh clone; `make install` is idempotent.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

#: every top-level Python package (tests included): what `make lint` type-checks
PACKAGES := $(patsubst %/__init__.py,%,$(wildcard */__init__.py))
#: the whole suite: tests plus the doctests of every package (pyproject's testpaths), no cache files in the
#: checkout; SCIFLOW_FULL_SUITE=1 fails a run that deselected or ran nothing (see tests/conftest.py)
PYTEST := SCIFLOW_FULL_SUITE=1 $(PY) -m pytest -p no:cacheprovider

.PHONY: install test lint test-concurrent demo preview policy bench clean mutation mutation-authz layer-proof bench-etl bench-etl-sweep test-etl-large lock

install: $(STAMP)

$(STAMP): requirements.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $(STAMP)

test: install
	$(PYTEST) -n 2 --dist loadgroup

lint: install
	$(PY) -m ruff check .
	$(PY) -m mypy $(PACKAGES) __main__.py

# Slow (about twice `make test`): two whole sessions at once on this machine, sharing $$TMPDIR, ~/.cache and
# this checkout, with the test fixtures' temp-dir cache starting empty so both build it at the same time.
# Fails if either session fails: proves the suite has no fixed paths two runs could collide on.
test-concurrent: install
	@work=$$(mktemp -d) && export SCIFLOW_FIXTURE_DIR=$$work/fixtures && \
	{ $(PYTEST) -n 1 -q > $$work/a.log 2>&1 & a=$$!; } && { $(PYTEST) -n 1 -q > $$work/b.log 2>&1 & b=$$!; } && \
	ra=0 && rb=0 && { wait $$a || ra=$$?; } && { wait $$b || rb=$$?; } && \
	tail -n 3 $$work/a.log $$work/b.log && echo "test-concurrent: session exits $$ra and $$rb (logs in $$work)" && \
	test $$ra -eq 0 && test $$rb -eq 0

preview: install
	$(PY) -m sandbox preview --stack dev

policy: install
	$(PY) -m policy.check __main__.py --stack dev

# Mutation testing of the policy pack (mutmut, pinned; tens of minutes, not part of `make test`).
MUTMUT := mutmut==3.8.1

mutation: install
	$(PY) -m pip install --quiet --disable-pip-version-check $(MUTMUT)
	$(PY) -m bench.mutation

# The same for the embedded AWS's IAM engine (sandbox/authz/, with its direct tests).
mutation-authz: install
	$(PY) -m pip install --quiet --disable-pip-version-check $(MUTMUT)
	$(PY) -m bench.mutation --target authz

demo: install
	$(PY) -m sandbox demo --stack dev $(if $(RUNTIME),--runtime $(RUNTIME),)

# slow (builds and trims the whole scientific stack, then its pip baselines): the full-profile proof of issue 16
layer-proof: install
	$(PY) -m bench.layer --profile full --json

# ETL benchmark peers (pandas+pyarrow, polars, DuckDB) live in their own venv: pyarrow changes pandas' string
# storage, and the Lambda layer (like .venv) has no pyarrow, so sciflow is measured without it.
BENCH_VENV  := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): requirements-bench.txt
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	touch $(BENCH_STAMP)

bench-etl: install $(BENCH_STAMP)
	$(PY) -m bench.etl --rows 1000000 --peers-python $(BENCH_VENV)/bin/python

bench-etl-sweep: install $(BENCH_STAMP)
	$(PY) -m bench.etl --json --rows 1000000 --sweep 1000000,5000000,10000000 --peers-python $(BENCH_VENV)/bin/python

test-etl-large: install
	SCIFLOW_ETL_LARGE_ROWS=2000000 $(PY) -m pytest -n 1 -q tests/e2e/test_etl_large.py

# Re-resolve every stack layer for its Lambda target and rewrite locks/*.txt (hashes included); commit the result.
lock: install
	$(PY) -m components.layer_locks --runtime python3.12 --runtime python3.13

clean:
	rm -rf $(VENV) $(BENCH_VENV) .sciflow out
