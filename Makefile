# Unmask: `make serve` runs the demo, `make test` runs every test.
SHELL := /bin/bash
GO ?= go
export GOFLAGS ?= -buildvcs=false

.PHONY: all build test vet unit serve static clean

all: build

build:
	$(GO) build ./...

vet:
	$(GO) vet ./...

unit:
	$(GO) test -count=1 ./...

test: vet unit

clean:
	rm -rf build dist
