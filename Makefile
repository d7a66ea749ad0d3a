# Unmask: `make serve` runs the demo, `make test` runs every test.
SHELL := /bin/bash
GO ?= go
export GOFLAGS ?= -buildvcs=false

.PHONY: all build test vet unit serve static clean corpus wasm

all: build

build:
	$(GO) build ./...

vet:
	$(GO) vet ./...

unit:
	$(GO) test -count=1 ./...

test: vet unit

# Training data for Unmask's own models: fetches public-domain texts with
# apt-get, writes corpus, tokenizer and SFT set to CORPUS_DIR (default: the
# user cache folder's unmask/, e.g. ~/.cache/unmask).
corpus:
	$(GO) run ./tools/corpus $(if $(CORPUS_DIR),--dir $(CORPUS_DIR)) $(CORPUS_FLAGS)

# The page (web/app.wasm), the engine worker (web/worker.wasm) and Go's
# wasm_exec.js for the worker; go build keeps them up to date.
WASM_ENV := GOOS=js GOARCH=wasm

wasm:
	$(WASM_ENV) $(GO) build -trimpath -o web/app.wasm ./app
	$(WASM_ENV) $(GO) build -trimpath -o web/worker.wasm ./app/worker
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" web/wasm_exec.js

# The static site, linked by relative paths: dist/ works on any static host
# (python3 -m http.server -d dist). Its entry page is dist/index.html; the
# committed top-level index.html is the same file (app/site_test.go checks).
static: wasm
	rm -rf dist
	$(GO) run ./app -web web -out dist

serve: wasm
	rm -rf dist
	$(GO) run ./app -web web -out dist -serve :8000

clean:
	rm -rf build dist
