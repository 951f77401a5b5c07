# rocketgo build and test entry points. CI runs `make test` through .ci/run.

GO       ?= go
MODULE   := github.com/rocketgo/rocketgo
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo dev)
LDFLAGS  := -X $(MODULE)/cmd/rocketgo/app.Version=$(VERSION) -X $(MODULE)/cmd/rocketgo/app.Commit=$(COMMIT)
BIN      := bin/rocketgo
# How long each fuzz target runs under `make fuzz`.
FUZZTIME ?= 10s

.PHONY: all build run test test-unit test-race test-e2e fuzz lint vet fmt-check clean bench bench-profile

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/rocketgo

# A local name server and broker in one process, data in ./data.
run: build
	$(BIN) standalone -c configs/standalone.yaml --data-dir ./data

# Everything CI checks: format and vet, unit tests of both modules, the race detector over the
# concurrent code, then the end-to-end tests against the built binary.
test: lint test-unit test-race test-e2e

# Unit tests of the root module (e2e apart, it has its own target) and of the sdk module.
test-unit:
	$(GO) test $$($(GO) list ./... | grep -v '^$(MODULE)/e2e')
	cd sdk && $(GO) test ./...

test-race:
	$(GO) test -race ./core/... ./adapters/... ./ports/... ./cmd/...

test-e2e:
	$(GO) test -count=1 -timeout 8m ./e2e/...

# Runs every fuzz target of both modules for FUZZTIME each; go test -fuzz takes one target at a time.
fuzz:
	@set -e; \
	for dir in . sdk; do \
		for pkg in $$(cd $$dir && $(GO) list ./...); do \
			for target in $$(cd $$dir && $(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
				echo "== $$pkg $$target"; \
				(cd $$dir && $(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) $$pkg); \
			done; \
		done; \
	done

# The benchmark matrix against NATS JetStream on this machine (about 6-8 minutes): writes
# bench/results.md. Knobs: SECS, REPS, PREFILL, SKIP_NATS=1 (see scripts/bench.sh).
bench: build
	bash scripts/bench.sh

# CPU and allocation profiles of the broker under the async pipelined send case, or PROFILE_CASE=sync_1
# (bench/raw/profile-CASE; top costs printed).
bench-profile: build
	bash scripts/bench.sh profile

lint: fmt-check vet

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go'; git ls-files --others --exclude-standard '*.go') </dev/null); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...
	cd sdk && $(GO) vet ./...

clean:
	rm -rf bin
