# Keyhole — the two commands: `make run` and `make test`.
# Both install what is missing first (scripts/setup), idempotently.

SHELL := /bin/bash
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export TRUNK_SKIP_VERSION_CHECK := true
CARGO ?= cargo

.PHONY: all setup web build run test lint fmt unit test-postgres e2e bench clean

all: build

## setup: install toolchain pieces, npm packages and Chromium when missing
setup:
	@bash scripts/setup

## web: build the browser app into dist/ (Trunk, offline)
web: setup
	trunk build --release --locked

## build: the web app and the release server binary
build: web
	$(CARGO) build --release --locked -p keyhole

## run: start Keyhole in development mode (--dev: in-process dev cluster and dev IdP) at http://127.0.0.1:8080
run: build
	./target/release/keyhole serve --dev

## fmt / lint: formatting and clippy (host crates and the wasm app)
fmt:
	$(CARGO) fmt --all
lint: setup
	$(CARGO) fmt --all --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	$(CARGO) clippy --locked -p app --target wasm32-unknown-unknown -- -D warnings
	# The production build (no `dev` feature) compiles and has no devstack in it.
	$(CARGO) check --locked -p keyhole --no-default-features
	@tree="$$($(CARGO) tree --locked -e normal -p keyhole --no-default-features)" || exit 1; \
	if grep -q devstack <<<"$$tree"; then \
	  echo "lint: devstack is a normal dependency of keyhole without the dev feature:" >&2; \
	  grep devstack <<<"$$tree" >&2; exit 1; \
	fi

## unit: every Rust test (unit, integration, devstack with kube-rs and kubectl)
unit: setup
	$(CARGO) test --locked

## test-postgres: the server's integration tests again, against a throwaway PostgreSQL
## (Debian's server on loopback, started and removed by scripts/with-postgres)
test-postgres: setup
	bash scripts/with-postgres $(CARGO) test --locked -p keyhole --tests

## e2e: browser tests (Playwright + Debian Chromium + the real oidc-provider)
e2e: web
	$(CARGO) build --locked -p keyhole
	cd end2end && npm test

## test: everything CI runs
test: lint unit test-postgres e2e

## bench: performance benchmarks (numbers go to docs/performance.md)
bench: setup
	$(CARGO) bench --locked -p keyhole --bench policy
	$(CARGO) bench --locked -p keyhole --bench access
	$(CARGO) bench --locked -p keyhole --bench terminal
	$(CARGO) bench --locked -p devstack --bench exec

clean:
	rm -rf dist end2end/artifacts
	$(CARGO) clean
