# arqhost. `make demo` runs the main job end to end; `make test` runs every test.
# Both install what they need first (Debian packages through apt-get, Go modules through the proxy).

GO        ?= go
BUILD     := build
EXAMPLES  := $(BUILD)/examples
FIXTURES  := $(BUILD)/fixtures
WASIP1    := GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -buildmode=c-shared

# Go modules; "hostile" is a test fixture, built beside the WAT fixtures rather than the examples.
GO_EXAMPLES := $(patsubst modules/examples/go/%/main.go,$(EXAMPLES)/%.wasm,$(filter-out %/hostile/main.go,$(wildcard modules/examples/go/*/main.go)))
GO_FIXTURES := $(FIXTURES)/hostile.wasm
WAT_FIXTURES := $(patsubst modules/examples/wat/%.wat,$(FIXTURES)/%.wasm,$(wildcard modules/examples/wat/*.wat))
EXTISM_EXAMPLE := $(EXAMPLES)/extism_greet.wasm

# Debian packages the build and tests need (wabt for the WAT fixtures; Debian's Rust toolchain and
# clang with wasi-libc for the Rust and C guests, see scripts/rust-env.sh), and a command that
# proves they are there.
APT_PACKAGES := wabt rustc cargo libstd-rust-dev-wasm32 lld-14 librust-serde-json-dev librust-serde-derive-dev clang lld wasi-libc libclang-rt-14-dev-wasm32
HAVE_TOOLS   := command -v wat2wasm >/dev/null && scripts/rust-env.sh check

RUST_ENV      := $(CURDIR)/scripts/rust-env.sh
RUST_EXAMPLES := $(EXAMPLES)/rust_email.wasm $(EXAMPLES)/rust_data.wasm
RUST_SOURCES  := $(wildcard sdk/rust/Cargo.* sdk/rust/src/*.rs modules/examples/rust/Cargo.* modules/examples/rust/*/Cargo.toml modules/examples/rust/*/src/*.rs modules/examples/rust/common/*.rs)
C_EXAMPLE     := $(EXAMPLES)/c_example.wasm

ARQHOST   := $(BUILD)/arqhost
DEMO_QUEUE := arqhost-demo

.PHONY: all deps modules arqhost services demo test vet fmt bench clean

all: modules arqhost

# The arqhost command.
arqhost:
	$(GO) build -o $(ARQHOST) ./cmd/arqhost

services:
	@scripts/services.sh

# The main job end to end: build the modules and arqhost, make sure RabbitMQ and Redis run, start a
# worker on the example modules, enqueue jobs of every kind with the Go client, show their results,
# stop the worker (SIGTERM: it finishes what runs and exits).
DEMO_METRICS ?= 127.0.0.1:9464

demo: modules arqhost services
	@$(ARQHOST) queue purge --queue $(DEMO_QUEUE) --yes >/dev/null 2>&1 || true
	@$(ARQHOST) dlq purge --queue $(DEMO_QUEUE) --yes >/dev/null 2>&1 || true
	@echo "starting a worker on $(EXAMPLES) (log: $(BUILD)/demo-worker.log)"
	@$(ARQHOST) worker --modules $(EXAMPLES) --queue $(DEMO_QUEUE) --concurrency 4 --metrics-addr $(DEMO_METRICS) \
		--max-retries 3 --retry-backoff 1s > $(BUILD)/demo-worker.log 2>&1 & echo $$! > $(BUILD)/demo-worker.pid
	@for i in $$(seq 1 300); do \
		grep -q "worker started" $(BUILD)/demo-worker.log 2>/dev/null && break; \
		if ! kill -0 $$(cat $(BUILD)/demo-worker.pid) 2>/dev/null; then \
			echo "the worker did not start:"; tail -5 $(BUILD)/demo-worker.log; \
			echo "(another process on $(DEMO_METRICS)? run: make demo DEMO_METRICS=127.0.0.1:9465)"; exit 1; fi; \
		sleep 0.1; done
	@$(GO) run ./examples/demo --queue $(DEMO_QUEUE); status=$$?; \
		echo; echo "metrics (a few of them, from http://$(DEMO_METRICS)/metrics):"; \
		curl -s $(DEMO_METRICS)/metrics 2>/dev/null | grep -E '^arqhost_jobs_total' | head -8; \
		kill -TERM $$(cat $(BUILD)/demo-worker.pid) 2>/dev/null; \
		while kill -0 $$(cat $(BUILD)/demo-worker.pid) 2>/dev/null; do sleep 0.2; done; \
		echo "worker stopped"; exit $$status

deps:
	@$(HAVE_TOOLS) || { echo "installing $(APT_PACKAGES) with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(APT_PACKAGES); }

modules: deps $(GO_EXAMPLES) $(GO_FIXTURES) $(WAT_FIXTURES) $(EXTISM_EXAMPLE) $(RUST_EXAMPLES) $(C_EXAMPLE)

$(EXAMPLES)/%.wasm: modules/examples/go/%/*.go $(wildcard sdk/go/*.go abi/*.go)
	@mkdir -p $(EXAMPLES)
	$(WASIP1) -o $@ ./modules/examples/go/$*

$(FIXTURES)/%.wasm: modules/examples/go/%/*.go $(wildcard sdk/go/*.go abi/*.go)
	@mkdir -p $(FIXTURES)
	$(WASIP1) -o $@ ./modules/examples/go/$*

$(EXTISM_EXAMPLE): $(wildcard modules/examples/extism-go/*.go modules/examples/extism-go/go.*)
	@mkdir -p $(EXAMPLES)
	cd modules/examples/extism-go && GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -buildmode=c-shared -o $(CURDIR)/$@ .

$(EXAMPLES)/rust_%.wasm: $(RUST_SOURCES)
	@mkdir -p $(EXAMPLES)
	cd modules/examples/rust && $(RUST_ENV) cargo build --release --locked --target wasm32-wasi
	cp modules/examples/rust/target/wasm32-wasi/release/rust_$*.wasm $@

$(C_EXAMPLE): modules/examples/c/main.c abi/arqhost.h
	@mkdir -p $(EXAMPLES)
	clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wl,--strip-all -o $@ modules/examples/c/main.c

$(FIXTURES)/%.wasm: modules/examples/wat/%.wat
	@mkdir -p $(FIXTURES)
	wat2wasm $< -o $@

test: modules arqhost
	cd sdk/rust && $(RUST_ENV) cargo test --locked -q
	cd modules/examples/rust && $(RUST_ENV) cargo test --locked -q
	cd modules/examples/rust && $(RUST_ENV) cargo build --release --locked -q --target wasm32-unknown-unknown
	$(GO) vet ./...
	@test -z "$$(gofmt -l . | tee /dev/stderr)" || { echo "gofmt: files above need formatting"; exit 1; }
	ARQHOST_EXAMPLES=$(CURDIR)/$(EXAMPLES) ARQHOST_FIXTURES=$(CURDIR)/$(FIXTURES) $(GO) test -count=1 ./...

# The one-command benchmark (bench/report): arqhost against RabbitMQ's and Redis's own ceiling, every
# scenario in one run against the local services, the tables printed and written to bench/RESULTS.md.
# Takes several minutes (the delayed-jobs scenario alone a minute or more). bench-quick is a fast
# smoke run of the same program with small counts, one run each and no delayed jobs, written to
# build/RESULTS-quick.md. bench-go runs the Go benchmarks of ./bench/ (bench/README.md).
.PHONY: bench-quick bench-go reliability fuzz

bench: modules arqhost services
	$(GO) run ./bench/report -o bench/RESULTS.md

# The reliability and security suite, long: kill -9, RabbitMQ restarts (rabbitmqctl stop_app; run it
# on a broker nothing else uses), Redis outages, hostile guests, leaked secrets, a soak. `make test`
# runs the same scenarios small. Writes bench/RELIABILITY.md.
reliability: modules arqhost services
	ARQHOST_EXAMPLES=$(CURDIR)/$(EXAMPLES) ARQHOST_FIXTURES=$(CURDIR)/$(FIXTURES) \
		$(GO) test -count=1 -v -timeout 60m ./reliability -args -long -report $(CURDIR)/bench/RELIABILITY.md

# Fuzz the decoders a hostile producer or guest can reach (job bodies, guest outputs, the JSON
# object splitter), FUZZTIME each (default 60s). Seeds are committed in testdata/fuzz.
FUZZTIME ?= 60s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./internal/wire
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeOutput$$' -fuzztime $(FUZZTIME) ./host/wasm
	$(GO) test -run '^$$' -fuzz '^FuzzObject$$' -fuzztime $(FUZZTIME) ./internal/jsonscan

bench-quick: modules arqhost services
	$(GO) run ./bench/report -o $(BUILD)/RESULTS-quick.md -runs 1 -n 2000 -seq-n 500 -delays=false \
		-latency-duration 2s -latency-loads 0.5 -mem-n 1000

bench-go: modules
	ARQHOST_EXAMPLES=$(CURDIR)/$(EXAMPLES) ARQHOST_FIXTURES=$(CURDIR)/$(FIXTURES) \
		$(GO) test -run '^$$' -bench . -benchmem -count 5 ./bench/

clean:
	rm -rf $(BUILD)
