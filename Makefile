# Unmask: `make serve` runs the demo, `make test` runs every test.
SHELL := /bin/bash
GO ?= go
export GOFLAGS ?= -buildvcs=false
# Native builds and tests get the AVX2 kernels of package quant and of the
# trainer (simd/archsimd, amd64 only); GOOS=js builds are unaffected.
export GOEXPERIMENT ?= simd

.PHONY: all build test vet unit wamerican serve static clean corpus wasm wabt nodejs kernels check-wasm test-wasm bench-wasm test-worker chromium e2e

all: build

build:
	$(GO) build ./...

vet:
	$(GO) vet ./...

unit: wamerican
	$(GO) test -count=1 ./...

# Debian's English word list: tools/internal/textstats (and llada eval)
# score samples by the share of their words found in it.
wamerican:
	@test -f /usr/share/dict/american-english || { apt-get update >/dev/null; apt-get install -y wamerican >/dev/null; } || \
		{ echo "make: /usr/share/dict/american-english missing and apt-get install wamerican failed; install Debian's wamerican" >&2; exit 1; }

test: vet unit check-wasm test-wasm test-worker e2e

# WebAssembly SIMD kernels of package quant: quant/wasm/*.wat, the sources
# beside the Go code that binds them, assembled by Debian wabt's wat2wasm
# into web/kernels/, where the page and Node load them. The .wasm files are
# committed, so building the site needs no wabt; check-wasm fails when one
# no longer matches its source.
WAT2WASM ?= wat2wasm
KERNELS_WAT := quant/wasm/glue.wat quant/wasm/kernels.wat quant/wasm/kernels_relaxed.wat
KERNELS_OUT := web/kernels
# Runs a GOOS=js GOARCH=wasm program under Node with the kernels loaded.
NODE_EXEC := node --stack-size=8192 --experimental-wasm-relaxed-simd $(CURDIR)/web/kernels/run_node.js

wabt:
	@command -v $(WAT2WASM) >/dev/null || { apt-get update >/dev/null; apt-get install -y wabt >/dev/null; } || \
		{ echo "make: wat2wasm missing and apt-get install wabt failed; install Debian's wabt" >&2; exit 1; }

nodejs:
	@command -v node >/dev/null || { apt-get update >/dev/null; apt-get install -y nodejs >/dev/null; } || \
		{ echo "make: node missing and apt-get install nodejs failed; install Node.js 20" >&2; exit 1; }

# The kernel list is declared once (quant/internal/kernelgen); go generate
# ./quant writes the kernelSet struct, the //go:wasmimport lines,
# quant/wasm/glue.wat and the loader's slots from it, and a unit test fails
# when one of them is stale.
kernels: wabt
	$(GO) generate ./quant
	@for f in $(KERNELS_WAT); do $(WAT2WASM) --enable-relaxed-simd --debug-names $$f -o $(KERNELS_OUT)/$$(basename $${f%.wat}).wasm || exit 1; done

check-wasm: wabt
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	for f in $(KERNELS_WAT); do \
		out="$$tmp/$$(basename $${f%.wat}).wasm"; \
		$(WAT2WASM) --enable-relaxed-simd --debug-names $$f -o "$$out" || exit 1; \
		want=$(KERNELS_OUT)/$$(basename $${f%.wat}).wasm; \
		cmp -s "$$out" "$$want" || { echo "make: $$want does not match $$f (run make kernels)" >&2; exit 1; }; \
	done

# The kernel tests under Node, SIMD and relaxed SIMD both required (the
# native run of package quant covers them again through wazero), and the
# engine's int8 tests that run on every kernel path.
test-wasm: nodejs
	GOOS=js GOARCH=wasm UNMASK_REQUIRE_KERNELS=relaxed-simd $(GO) test -count=1 -exec="$(NODE_EXEC)" ./quant/
	GOOS=js GOARCH=wasm UNMASK_REQUIRE_KERNELS=relaxed-simd $(GO) test -count=1 -exec="$(NODE_EXEC)" -run '^TestQ8' ./engine/

# Kernel GOPS (SIMD, relaxed SIMD, Go in wasm) and forward passes per second
# of the ~5M-parameter q8 benchmark model over 256 tokens (SIMD and Go in
# wasm under Node, and natively), and ms per generated token with cache
# none, prefix and dual, each without and with threshold 0.9, for the
# benchmark, base and instruct models (natively and under Node); the last
# line is one JSON object. BENCH_FLAGS adds flags (e.g. --rounds 3).
bench-wasm: nodejs
	@mkdir -p build
	$(GO) build -o build/benchwasm ./tools/benchwasm
	GOOS=js GOARCH=wasm $(GO) build -o build/benchwasm.wasm ./tools/benchwasm
	build/benchwasm --generate $(BENCH_FLAGS) > build/benchwasm-native.json
	$(NODE_EXEC) build/benchwasm.wasm --generate $(BENCH_FLAGS) --native build/benchwasm-native.json

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

# The engine worker under Node with the kernels loaded: it reproduces the
# conformance traces there as natively.
test-worker: nodejs
	GOOS=js GOARCH=wasm $(GO) test -count=1 -exec="$(NODE_EXEC)" ./app/worker/

chromium:
	@command -v chromium >/dev/null || { apt-get update >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >/dev/null; } || \
		{ echo "make: chromium missing and apt-get install chromium failed; install Debian's chromium" >&2; exit 1; }

# The built site in headless Chromium (app/e2e): loads cleanly, generates,
# replays, stops, works offline, keeps the main thread free; screenshots in
# build/screenshots/.
e2e: static chromium
	UNMASK_E2E=1 $(GO) test -count=1 -v -run TestSite ./app/e2e/

clean:
	rm -rf build dist
