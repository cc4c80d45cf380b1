#!/usr/bin/env bash
# The end-to-end benchmark: builds starsink, the kfake process, the emulator
# and the harness into bench/.work/bin, then runs the harness; extra
# arguments go to the harness (see `bench/.work/bin/harness -h`), e.g.
#   bench/run.sh --rows 100000 --tables 1,10 --sweep 10000:1s,100000:100ms
# A real Kafka (the e2e suite's KRaft broker, e2e/kafka.sh) is used with
# --brokers host:port. The Java connector peer needs
# --java-connector-plugin DIR (or STARSINK_BENCH_JAVA_PLUGIN).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=bench/.work/bin
mkdir -p "$bin"
go build -o "$bin/starsink" ./cmd/starsink
go build -o "$bin/kfake" ./bench/cmd/kfake
go build -o "$bin/emulator" ./bench/cmd/emulator
go build -o "$bin/harness" ./bench/cmd/harness
exec "$bin/harness" --bin "$bin" --out bench/.work/results.md "$@"
