#!/usr/bin/env bash
# Kafka 4.0 for the end-to-end suite, from the jars e2e/fetch.sh resolved:
# a single-node KRaft broker (controller + broker in one process) on
# 127.0.0.1:$KAFKA_PORT and a distributed Kafka Connect worker on
# 127.0.0.1:$CONNECT_PORT whose plugin.path holds Debezium.
#   kafka.sh start | stop | register | unregister | status
# register posts e2e/connector.json (with ${VAR} expanded from the environment)
# as connector "$CONNECTOR_NAME" and waits until its task runs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

CONNECTOR_NAME="${CONNECTOR_NAME:-starsink-e2e-pg}"
SCHEMAS_ENABLE="${SCHEMAS_ENABLE:-true}"
KDIR="$E2E_CACHE/kafka"
JAVA_OPTS=(-Djava.net.preferIPv4Stack=true -Dlog4j2.configurationFile="$E2E_DIR/log4j2.properties")

start_broker() {
	if port_open "$KAFKA_PORT"; then die "kafka: 127.0.0.1:$KAFKA_PORT already in use"; fi
	if port_open "$KAFKA_SASL_PORT"; then die "kafka: 127.0.0.1:$KAFKA_SASL_PORT already in use"; fi
	rm -rf "$KDIR/data" && mkdir -p "$KDIR/data"
	(cd "$E2E_ROOT" && go run ./e2e/gencert "$KAFKA_TLS_DIR") || die "kafka: gencert failed"
	cat >"$KDIR/server.properties" <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT,SASL_SSL://127.0.0.1:$KAFKA_SASL_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,SASL_SSL://127.0.0.1:$KAFKA_SASL_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$E2E_SASL_USER="$E2E_SASL_PASSWORD";
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
# Clients log in again every 5 s, as on hosted Kafkas (KIP-368): a user
# deleted while starsink runs is refused at its next login.
connections.max.reauth.ms=5000
ssl.keystore.type=PEM
ssl.keystore.location=$KAFKA_TLS_DIR/server.pem
log.dirs=$KDIR/data
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=24
CONF
	local id
	id=$(java -cp "$KAFKA_LIBS/*" "${JAVA_OPTS[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
	[ -n "$id" ] || die "kafka: random-uuid failed"
	java -cp "$KAFKA_LIBS/*" "${JAVA_OPTS[@]}" kafka.tools.StorageTool format -t "$id" -c "$KDIR/server.properties" \
		--add-scram "SCRAM-SHA-512=[name=$E2E_SASL_USER,password=$E2E_SASL_PASSWORD]" \
		>"$E2E_LOGS/kafka-format.log" 2>&1 || { cat "$E2E_LOGS/kafka-format.log" >&2; die "kafka: format failed"; }
	KAFKA_HEAP="${KAFKA_HEAP:--Xms512m -Xmx1g}"
	# shellcheck disable=SC2086
	nohup java $KAFKA_HEAP -cp "$KAFKA_LIBS/*" "${JAVA_OPTS[@]}" kafka.Kafka "$KDIR/server.properties" \
		>"$E2E_LOGS/kafka.log" 2>&1 &
	echo $! >"$E2E_RUN/kafka.pid"
	wait_for "kafka on :$KAFKA_PORT" 90 port_open "$KAFKA_PORT" || { tail -40 "$E2E_LOGS/kafka.log" >&2; die "kafka: broker did not start"; }
	wait_for "kafka SASL_SSL on :$KAFKA_SASL_PORT" 30 port_open "$KAFKA_SASL_PORT" || { tail -40 "$E2E_LOGS/kafka.log" >&2; die "kafka: SASL_SSL listener did not start"; }
	log "kafka: broker up on 127.0.0.1:$KAFKA_PORT, SASL_SSL on 127.0.0.1:$KAFKA_SASL_PORT (cluster $id)"
}

start_connect() {
	if port_open "$CONNECT_PORT"; then die "connect: 127.0.0.1:$CONNECT_PORT already in use"; fi
	cat >"$KDIR/connect.properties" <<CONF
bootstrap.servers=127.0.0.1:$KAFKA_PORT
group.id=starsink-e2e-connect
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=true
value.converter.schemas.enable=true
config.storage.topic=_connect_configs
offset.storage.topic=_connect_offsets
status.storage.topic=_connect_status
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
offset.storage.partitions=1
status.storage.partitions=1
offset.flush.interval.ms=1000
listeners=http://127.0.0.1:$CONNECT_PORT
rest.advertised.host.name=127.0.0.1
rest.advertised.port=$CONNECT_PORT
plugin.path=$PLUGIN_PATH
plugin.discovery=hybrid_warn
connector.client.config.override.policy=All
CONF
	CONNECT_HEAP="${CONNECT_HEAP:--Xms512m -Xmx1500m}"
	# shellcheck disable=SC2086
	nohup java $CONNECT_HEAP -cp "$KAFKA_LIBS/*" "${JAVA_OPTS[@]}" org.apache.kafka.connect.cli.ConnectDistributed "$KDIR/connect.properties" \
		>"$E2E_LOGS/connect.log" 2>&1 &
	echo $! >"$E2E_RUN/connect.pid"
	wait_for "connect REST on :$CONNECT_PORT" 120 curl -fsS "http://127.0.0.1:$CONNECT_PORT/connector-plugins" ||
		{ tail -40 "$E2E_LOGS/connect.log" >&2; die "connect: worker did not start"; }
	curl -fsS "http://127.0.0.1:$CONNECT_PORT/connector-plugins" | grep -q PostgresConnector ||
		{ tail -40 "$E2E_LOGS/connect.log" >&2; die "connect: Debezium PostgresConnector not found in plugin.path"; }
	log "connect: worker up on 127.0.0.1:$CONNECT_PORT with $(curl -fsS "http://127.0.0.1:$CONNECT_PORT/" | sed 's/.*"version":"\([^"]*\)".*/Kafka \1/')"
}

task_running() {
	curl -fsS "http://127.0.0.1:$CONNECT_PORT/connectors/$CONNECTOR_NAME/status" | grep -q '"tasks":\[{[^]]*"state":"RUNNING"'
}

register() {
	local body
	export PG_PORT PG_DB TOPIC_PREFIX SCHEMAS_ENABLE
	body=$(sed -e "s/\${PG_PORT}/$PG_PORT/" -e "s/\${PG_DB}/$PG_DB/" -e "s/\${TOPIC_PREFIX}/$TOPIC_PREFIX/" \
		-e "s/\${SCHEMAS_ENABLE}/$SCHEMAS_ENABLE/g" "$E2E_DIR/connector.json")
	curl -fsS -X PUT -H 'Content-Type: application/json' --data "$body" \
		"http://127.0.0.1:$CONNECT_PORT/connectors/$CONNECTOR_NAME/config" >"$E2E_LOGS/connector-register.json" ||
		die "connect: registering $CONNECTOR_NAME failed"
	if ! wait_for "connector task RUNNING" 90 task_running; then
		curl -sS "http://127.0.0.1:$CONNECT_PORT/connectors/$CONNECTOR_NAME/status" >&2 || true
		die "connect: connector $CONNECTOR_NAME did not run"
	fi
	log "connect: connector $CONNECTOR_NAME running (topic.prefix $TOPIC_PREFIX)"
}

unregister() {
	curl -fsS -X DELETE "http://127.0.0.1:$CONNECT_PORT/connectors/$CONNECTOR_NAME" >/dev/null 2>&1 || true
}

stop() {
	stop_pidfile "$E2E_RUN/connect.pid"
	stop_pidfile "$E2E_RUN/kafka.pid"
}

status() {
	curl -fsS "http://127.0.0.1:$CONNECT_PORT/connectors/$CONNECTOR_NAME/status"
	echo
}

case "${1:-}" in
start) start_broker && start_connect ;;
start-broker) start_broker ;;
start-connect) start_connect ;;
register | unregister | stop | status) "$1" ;;
*) echo "usage: $0 start|start-broker|start-connect|register|unregister|stop|status" >&2; exit 2 ;;
esac
