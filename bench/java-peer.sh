#!/usr/bin/env bash
# The Java peer of the end-to-end benchmark: the StarRocks Kafka connector in
# a standalone Kafka Connect 4.0 worker (the jars e2e/fetch.sh resolved into
# the e2e cache), configured for Debezium as the connector's documentation
# says, reading the benchmark topics into the emulator. It runs in the
# foreground until killed; the harness starts and stops it.
#   java-peer.sh PLUGIN_DIR BROKERS TOPICS TOPIC2TABLE FE_HOST:PORT DATABASE WORKDIR
# PLUGIN_DIR is the connector's plugin folder: build the connector from its
# public source with Maven and pass that folder. Nothing of it is in this
# repository.
set -euo pipefail
. "$(dirname "$0")/../e2e/lib.sh"
plugin="$(cd "$1" && pwd)" brokers="$2" topics="$3" map="$4" fe="$5" db="$6" work="$7"
[ -d "$KAFKA_LIBS" ] || die "java peer: no Kafka jars in the e2e cache: run e2e/fetch.sh first"
mkdir -p "$work"
# A plugin folder with only this connector, so nothing else on plugin.path interferes.
rm -rf "$work/plugins" && mkdir -p "$work/plugins" && ln -s "$plugin" "$work/plugins/starrocks"
cat >"$work/worker.properties" <<CONF
bootstrap.servers=$brokers
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
value.converter.schemas.enable=true
offset.storage.file.filename=$work/offsets
offset.flush.interval.ms=1000
plugin.path=$work/plugins
listeners=http://127.0.0.1:18083
CONF
cat >"$work/connector.properties" <<CONF
name=starrocks-bench-peer
connector.class=com.starrocks.connector.kafka.StarRocksSinkConnector
tasks.max=1
topics=$topics
starrocks.topic2table.map=$map
starrocks.http.url=$fe
starrocks.database.name=$db
starrocks.username=root
starrocks.password=
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
value.converter.schemas.enable=true
transforms=addfield,unwrap
transforms.addfield.type=com.starrocks.connector.kafka.transforms.AddOpFieldForDebeziumRecord
transforms.unwrap.type=io.debezium.transforms.ExtractNewRecordState
transforms.unwrap.drop.tombstones=true
transforms.unwrap.delete.handling.mode=rewrite
sink.properties.format=json
sink.properties.strip_outer_array=true
bufferflush.intervalms=1000
consumer.override.auto.offset.reset=earliest
CONF
exec java -Xms512m -Xmx1g -Djava.net.preferIPv4Stack=true -Dlog4j2.configurationFile="$E2E_DIR/log4j2.properties" \
	-cp "$KAFKA_LIBS/*" org.apache.kafka.connect.cli.ConnectStandalone "$work/worker.properties" "$work/connector.properties"
