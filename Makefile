# Linli entry points. See README.md; the commands are part of ../shared/docs/CONTRACT.md.
#   make run    build everything and start the demo on http://127.0.0.1:8080
#   make test   lint, build, and run every test (unit, API, CLI, browser, Schemathesis;
#               the server's store and API suite on SQLite and on PostgreSQL)
#   make bench  the measurements of ../shared/docs/TARGETS.md that exist so far
#   make cluster  two servers on a private PostgreSQL behind nginx, with the demo
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
export PATH := $(CURDIR)/tools/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export TRUNK_SKIP_VERSION_CHECK := true

# The browser workload of TARGETS.md (deterministic: same arguments, same bytes).
WORKLOAD ?= ../shared/bench/gen_district.py

.PHONY: run test bench cluster tools tools-test app lint

## Pinned tools (idempotent): wasm target, trunk, wasm-bindgen-cli, wasm-opt; for
## tests also Chromium, chromedriver, a CJK font, Mosquitto and PostgreSQL.
tools:
	scripts/setup-tools.sh build
tools-test:
	scripts/setup-tools.sh test

## The browser app, into dist/: the staff app (index.html), then the public status page
## as its own smaller app (public.html, into dist/public/; after, since a build empties
## its dist folder); each asset also gzipped beside it for the server, by zopfli (the
## same gzip format as `gzip -9`, 4-5 % fewer bytes, ~6 s for the staff Wasm).
app: tools
	cargo fetch --locked
	trunk build --release
	trunk build public.html --release --dist dist/public --public-url /public/
	zopfli --gzip dist/*.wasm dist/*.js dist/*.css dist/public/*.wasm dist/public/*.js dist/public/*.css

run: app
	cargo build --release --locked -p linli-server
	./target/release/linli serve --demo --simulate

## Two servers on a private PostgreSQL behind nginx, with the demo (scripts/cluster.sh).
cluster: app
	cargo build --release --locked -p linli-server
	scripts/cluster.sh

lint: tools
	python3 scripts/import-cycles.py app/src server/src domain/src tests/src
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo clippy -p linli-app --target wasm32-unknown-unknown --locked -- -D warnings

test: tools-test lint app
	cargo build --locked -p linli-server
	cargo test --workspace --locked
	# The server's store and API suite again on PostgreSQL (a private server it starts),
	# and the browser journeys that write most (alerts, dispatch, case panels,
	# notifications, kills during ingest).
	LINLI_TEST_DATABASE=postgres cargo test --locked -p linli-server --test integration
	LINLI_TEST_DATABASE=postgres cargo test --locked -p linli-tests --test e2e -- alerts:: dispatch:: panels:: notify:: reliability::
	SCHEMATHESIS_SECONDS=45 tests/schemathesis/run.sh target/debug/linli

bench: app
	scripts/setup-tools.sh bench
	cargo build --release --locked -p linli-server
	test -f target/bench/district-100k/buildings.geojson \
	  || python3 $(WORKLOAD) 100000 20000 target/bench/district-100k
	LINLI_BIN=$(CURDIR)/target/release/linli cargo run --release --locked -p linli-tests --bin bench -- target/bench/district-100k
	cargo run --release --locked -p linli-app --example draw_list -- target/bench/demo target/bench/district-100k
