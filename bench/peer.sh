#!/usr/bin/env bash
# The peer benchmark: the Java StarRocks Kafka connector in Kafka Connect 4.0
# against starsink, reading the same topic of the same Kafka 4.0 broker, each
# into a StarRocks emulator, in one run.
#
#   bash bench/peer.sh <java-connector-plugin-dir> [rows]
#
# The connector is not part of this project: build its public source
# (StarRocks/starrocks-connector-for-kafka) with Maven and pass a folder
# holding its target/<name>-with-dependencies.jar (the -package/share/java
# folder lacks Apache HttpClient, which the connector needs at run time). Kafka and
# Connect come from the end-to-end suite's fetch (e2e/fetch.sh). Everything
# listens on loopback and is stopped on exit.
set -euo pipefail
PLUGIN=${1:?usage: bench/peer.sh <java-connector-plugin-dir> [rows]}
ROWS=${2:-200000}
cd "$(dirname "$0")/.."
PLUGIN=$(cd "$PLUGIN" && pwd)
trap 'bash e2e/kafka.sh stop >/dev/null 2>&1 || true' EXIT
bash e2e/fetch.sh
bash e2e/kafka.sh start-broker
go run ./bench/cmd/produce --brokers 127.0.0.1:${KAFKA_PORT:-59092} --rows "$ROWS"
go run ./bench/cmd/peer --brokers 127.0.0.1:${KAFKA_PORT:-59092} --rows "$ROWS" --plugin "$PLUGIN"
