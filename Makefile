# starsink — the commands README.md documents. Every target installs what it
# needs (Go modules; the end-to-end suite fetches PostgreSQL, Kafka, Connect
# and Debezium into .cache/ by itself).

GO ?= go
PKGS := ./...

.PHONY: demo test unit e2e bench fuzz build lint chaos

## demo: the whole reference pipeline in one process (kfake + StarRocks emulator)
demo:
	$(GO) run ./cmd/starsink-demo

## test: everything CI runs: vet, unit and in-process integration tests with -race, then the end-to-end suite
test: lint unit e2e

lint:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -race -count=1 $(PKGS)

## e2e: PostgreSQL 15 -> Debezium -> Kafka 4.0 -> starsink -> StarRocks emulator, real processes on loopback,
## with the classic group protocol, then again with KIP-848's consumer protocol
e2e:
	bash e2e/run.sh
	STARSINK_KAFKA_GROUP_PROTOCOL=consumer bash e2e/run.sh

## bench: the benchmarks recorded in docs/performance.md
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./debezium/ ./streamload/
	$(GO) test -run '^$$' -bench . -benchtime 1x ./bench/
	bash bench/run.sh

## fuzz: every fuzz target (decoders, scanner, config and connector parsing, mapping, labels, answers, the emulator's parsers) for FUZZTIME each (default 1m)
FUZZTIME ?= 1m
FUZZPKGS := ./debezium/ ./config/ ./mapping/ ./streamload/ ./emulator/
fuzz:
	@for p in $(FUZZPKGS); do for t in $$($(GO) test -list '^Fuzz' $$p | grep ^Fuzz); do \
		$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$p || exit 1; done; done

build:
	bash deploy/build.sh

## chaos: SEEDS fault schedules (default 20) from FIRST (default 1), each with the version guard on and off, under -race;
## one seed again: go test -race -count=1 -run TestChaos ./sink/ -chaos.seed=N [-chaos.guard=on|off]
SEEDS ?= 20
FIRST ?= 1
chaos:
	$(GO) test ./sink/internal/chaos/
	$(GO) test -race -count=1 -timeout 0 -run '^TestChaos$$' ./sink/ -chaos.first=$(FIRST) -chaos.seeds=$(SEEDS) -v
