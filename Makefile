# Developer and CI entry points. `make test` is what .ci/run runs.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test

GO ?= go
GOFILES = $(shell git ls-files --cached --others --exclude-standard '*.go' 2>/dev/null || find . -name '*.go' -not -path './.git/*')

.PHONY: run test bench openapi lint build

## run: serve with the embedded defaults (SQLite in ./data, in-process Redis)
run:
	$(GO) run ./cmd/gateway

## test: every package with the race detector; ends with a one-line summary.
## tests/ (the end-to-end suites) runs in SHARDS processes beside the rest.
test:
	@log=$$(mktemp); trap 'rm -f "$$log" "$$log.gateway"' EXIT; status=0; \
	{ GIN_MODE=release $(GO) test -race -count=1 -timeout 40m $$($(GO) list ./... | grep -v '/tests$$') & p1=$$!; \
	  { $(GO) build -race -o "$$log.gateway" ./cmd/gateway && \
	    GIN_MODE=release TEST_GATEWAY_BINARY="$$log.gateway" scripts/test-shards ./tests; } & p2=$$!; \
	  s=0; wait $$p1 || s=$$?; wait $$p2 || s=$$?; exit $$s; } 2>&1 | tee "$$log" || status=$$?; \
	ok=$$(grep -c '^ok ' "$$log" || true); \
	failed=$$(grep -cE '^FAIL[[:space:]]+[^[:space:]]' "$$log" || true); \
	none=$$(grep -c 'no test files' "$$log" || true); \
	echo "== test summary: $$ok packages ok, $$failed failed, $$none without tests (exit $$status)"; \
	if [ "$$status" -ne 0 ]; then grep -E '^(FAIL[[:space:]]|--- FAIL|panic:|WARNING: DATA RACE)' "$$log" | sort -u | head -50; fi; \
	exit $$status

## bench: the benchmarks only
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## openapi: regenerate the committed OpenAPI document
openapi:
	$(GO) run ./cmd/gateway openapi > api/openapi.json.tmp || { rm -f api/openapi.json.tmp; exit 1; }
	mv api/openapi.json.tmp api/openapi.json

## lint: gofmt and go vet
lint:
	@bad=$$(gofmt -l $(GOFILES)); if [ -n "$$bad" ]; then echo "gofmt needed:"; echo "$$bad"; exit 1; fi
	$(GO) vet ./...

## build: a static binary in bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w" -o bin/gateway ./cmd/gateway
