# fastvrrp developer entry points.  Every target installs what it needs.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST := $(PY) -m pytest

.PHONY: all build system-deps test test-fast bench bench-cli annotate clean

all: build

system-deps:
	./scripts/install-system-deps

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip 'setuptools>=77' 'Cython>=3,<4' wheel
	$(PY) -m pip install -q --no-build-isolation -e '.[test]'
	touch $@

# Rebuild the extensions in place whenever ext/ changed (cheap when it did not).
build: $(STAMP)
	$(PY) setup.py -q build_ext --inplace -j 2
	@# bytecode ahead of time, as an install does (the daemon's start-up time
	@# must not include compiling modules; PYTHONDONTWRITEBYTECODE may be set)
	$(PY) -m compileall -q fastvrrp

test: system-deps build
	$(PYTEST) -q

test-fast: build
	$(PYTEST) -q -m "not slow"

bench: build
	mkdir -p bench/results
	$(PYTEST) bench -q --benchmark-only \
	    --benchmark-json=bench/results/$$(date -u +%Y%m%dT%H%M%SZ).json

annotate:
	FASTVRRP_ANNOTATE=1 $(PY) setup.py -q build_ext --inplace --force
	@echo "annotated HTML: ext/*.html"

clean:
	rm -rf build *.egg-info ext/*.c ext/*.html fastvrrp/*.so

# The seed scenario in network namespaces, narrated (fastvrrp.bench.demo).
# Needs root; DEMO_ARGS passes options, e.g. DEMO_ARGS="--failure --master-daemon fastvrrp".
.PHONY: demo
demo: system-deps build
	@if [ "$$(id -u)" -eq 0 ]; then $(PY) -m fastvrrp.bench.demo $(DEMO_ARGS); \
	else sudo $(PY) -m fastvrrp.bench.demo $(DEMO_ARGS); fi

# Issue 6's end-to-end scenarios (fastvrrp bench steady|failover|startup), each run side by
# side with keepalived (--compare keepalived); one JSON line per scenario is appended to
# bench/results/e2e-<UTC time>.jsonl.  Needs root and takes several minutes; a scenario that
# fails is reported and the others still run (exit status 1 at the end).
E2E_SCENARIOS = \
	"steady --instances 500 --advert-int 0.01 --duration 20" \
	"steady --instances 1000 --advert-int 0.01 --duration 60" \
	"steady --instances 5000 --advert-int 0.1 --duration 20" \
	"failover --advert-int 0.01 --runs 3" \
	"failover --instances 1000 --advert-int 0.1 --runs 3" \
	"startup --instances 1000 --advert-int 0.01 --runs 3"
.PHONY: bench-e2e
bench-e2e: system-deps build
	@mkdir -p bench/results
	@sudo=; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	out=bench/results/e2e-$$(date -u +%Y%m%dT%H%M%SZ).jsonl; status=0; \
	for s in $(E2E_SCENARIOS); do \
	    echo "== fastvrrp bench $$s --compare keepalived --json" >&2; \
	    $$sudo $(VENV)/bin/fastvrrp bench $$s --compare keepalived --json >> $$out || status=1; \
	done; \
	echo "results: $$out" >&2; exit $$status
