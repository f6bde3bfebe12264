# Makefile for switchboard. `make help` lists the targets; each target's
# `## ` comment is its entry there.

GO      ?= go
BIN     := bin/switchboard
PKG     := ./cmd/switchboard
GOFILES := $(shell git ls-files --cached --others --exclude-standard '*.go' 2>/dev/null)

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this list of targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: web
web: ## Install the softphone's npm deps (npm ci) and bundle it into web/dist.
	cd web && npm ci --no-audit --no-fund && npm run build

.PHONY: build
build: web ## Build the softphone, then the gateway (embedding it) into bin/switchboard.
	$(GO) build -o $(BIN) $(PKG)

.PHONY: run
run: build ## Build, then run the gateway with its embedded default config.
	./$(BIN)

.PHONY: test
test: web ## The whole suite, as CI runs it: web build, deps, vet, unit (-race -short), e2e, fuzzing, bench smokes.
	scripts/test-deps.sh
	$(GO) vet ./...
# e2e drives the binary and real peers as subprocesses: it runs once, on
# the next line, rather than also under -race.
	$(GO) test -race -short $$($(GO) list ./... | grep -v '/e2e$$')
	$(GO) test -count=1 ./e2e/...
	scripts/fuzz-brief.sh
	$(GO) test -run '^$$' -bench RelayedCalls -benchtime 200x ./internal/gateway/
	scripts/bench-smoke.sh

.PHONY: soak
soak: ## Churn thousands of connections, registrations and calls through the binary (~2 min); check it returns to its baseline.
	SB_SOAK=full $(GO) test -count=1 -timeout 10m -run '^TestSoak$$' -v ./e2e/

.PHONY: nat
nat: ## Calls through a NAT and firewalls in namespaces: Chromium and Firefox ⇄ baresip, TURN over UDP and TLS (~2 min, root).
	$(GO) test -count=1 -run '^TestNATCalls$$' -v ./e2e/

.PHONY: test-deps
test-deps: ## Install the programs the tests drive (sipp, baresip, chromium, firefox-esr); needs root.
	scripts/test-deps.sh

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 5s).
	scripts/fuzz-brief.sh $(FUZZTIME)

.PHONY: sipp-check
sipp-check: ## Run each sipp scenario against its partner, no gateway (after editing them).
	scripts/check-sipp-scenarios.sh

.PHONY: bench-smoke
bench-smoke: ## bench/run.sh with small loads: every side-by-side figure for both gateways (needs root).
	scripts/bench-smoke.sh

.PHONY: bench
bench: ## Run all benchmarks, with allocations.
	$(GO) test -run '^$$' -bench . -benchmem ./...

.PHONY: fmt
fmt: ## Format all Go code in place.
	gofmt -w $(GOFILES) </dev/null

.PHONY: lint
lint: ## Fail on unformatted Go code or go vet findings.
	@unformatted=$$(gofmt -l $(GOFILES) </dev/null); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

.PHONY: clean
clean: ## Remove build output, the softphone's bundle and its node_modules.
	rm -rf bin web/node_modules
	find web/dist -mindepth 1 ! -name .gitkeep -delete
