#!/usr/bin/env bash
# Resolves Kafka 4.0 (broker + Connect) and the Debezium PostgreSQL connector
# from Maven Central with e2e/pom.xml into .cache/e2e/. Maven's own cache
# (~/.m2) keeps the artifacts; a stamp holding the POM's hash makes a second
# run a no-op.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v mvn >/dev/null || die "mvn not found (apt-get install -y maven)"
command -v java >/dev/null || die "java not found (apt-get install -y openjdk-17-jre-headless)"

stamp="$E2E_CACHE/fetch.stamp"
want=$(sha256sum "$E2E_DIR/pom.xml" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
	[ -n "$(ls "$KAFKA_LIBS" 2>/dev/null)" ] && [ -n "$(ls "$PLUGIN_PATH/debezium-connector-postgres" 2>/dev/null)" ]; then
	log "fetch: cached ($KAFKA_LIBS, $PLUGIN_PATH)"
	exit 0
fi

rm -rf "$KAFKA_LIBS" "$PLUGIN_PATH"
mkdir -p "$KAFKA_LIBS" "$PLUGIN_PATH/debezium-connector-postgres"
log "fetch: resolving Kafka and Debezium with Maven (log: $E2E_LOGS/fetch.log)"
{
	mvn -B -ntp -f "$E2E_DIR/pom.xml" -Pkafka dependency:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$KAFKA_LIBS" &&
		mvn -B -ntp -f "$E2E_DIR/pom.xml" -Pdebezium dependency:copy-dependencies \
			-DincludeScope=runtime -DoutputDirectory="$PLUGIN_PATH/debezium-connector-postgres"
} >"$E2E_LOGS/fetch.log" 2>&1 || {
	tail -50 "$E2E_LOGS/fetch.log" >&2
	die "fetch: maven failed"
}
echo "$want" >"$stamp"
log "fetch: $(ls "$KAFKA_LIBS" | wc -l) Kafka jars, $(ls "$PLUGIN_PATH/debezium-connector-postgres" | wc -l) Debezium jars"
