# sciflow — every target works from a fresh clone; `make install` is idempotent.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install test lint demo preview policy bench clean mutation layer-proof

install: $(STAMP)

$(STAMP): requirements.txt constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $(STAMP)

test: install
	$(PY) -m pytest -n 2 --dist loadgroup

lint: install
	$(PY) -m ruff check .
	$(PY) -m mypy components handlers synth sandbox ops policy bench

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
