#!/usr/bin/env bash
# The end-to-end benchmark: builds starsink, the kfake process, the emulator
# and the harness into bench/.work/bin, then runs the harness; arguments go to
# the harness (see `bench/.work/bin/harness -h`), e.g.
#   bench/run.sh --rows 100000 --tables 1,10 --sweep 10000:1s,100000:100ms
# With --real-kafka (first argument) the cases run on a real Kafka 4.0
# broker instead of kfake: the e2e suite's single-node KRaft broker
# (e2e/fetch.sh, e2e/kafka.sh), started here and stopped on exit. Any other
# running Kafka is used with --brokers host:port. The Java connector peer
# needs --java-connector-plugin DIR (or STARSINK_BENCH_JAVA_PLUGIN): a folder
# holding the connector's -with-dependencies jar, built from its public
# source outside this repository.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=bench/.work/bin
mkdir -p "$bin"
go build -o "$bin/starsink" ./cmd/starsink
go build -o "$bin/kfake" ./bench/cmd/kfake
go build -o "$bin/emulator" ./bench/cmd/emulator
go build -o "$bin/harness" ./bench/cmd/harness
if [ "${1:-}" = "--real-kafka" ]; then
	shift
	. e2e/lib.sh
	bash e2e/fetch.sh
	trap 'bash e2e/kafka.sh stop >/dev/null 2>&1 || true' EXIT
	bash e2e/kafka.sh start-broker
	"$bin/harness" --bin "$bin" --out bench/.work/results.md --brokers "127.0.0.1:$KAFKA_PORT" "$@"
	exit
fi
exec "$bin/harness" --bin "$bin" --out bench/.work/results.md "$@"
