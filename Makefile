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

.PHONY: install test lint test-concurrent demo preview policy bench clean mutation layer-proof

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
mutation: install
	$(PY) -m pip install --quiet --disable-pip-version-check mutmut==3.8.1
	$(PY) -m bench.mutation

demo: install
	$(PY) -m sandbox demo --stack dev

# slow (builds and trims the whole scientific stack, then its pip baselines): the full-profile proof of issue 16
layer-proof: install
	$(PY) -m bench.layer --profile full --json

clean:
	rm -rf $(VENV) .sciflow out
