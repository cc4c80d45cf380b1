#!/usr/bin/env bash
# Resolves Kafka 4.0 (broker + Connect) and the Debezium PostgreSQL connector
# ($DEBEZIUM_VERSION, default 2.6.2.Final) from Maven Central with
# e2e/pom.xml into .cache/e2e/. Maven's own cache (~/.m2) keeps the
# artifacts; a stamp per folder holding the POM's hash makes a second run a
# no-op.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v mvn >/dev/null || die "mvn not found (apt-get install -y maven)"
command -v java >/dev/null || die "java not found (apt-get install -y openjdk-17-jre-headless)"

want=$(sha256sum "$E2E_DIR/pom.xml" | cut -d' ' -f1)
dbz="$PLUGIN_PATH/debezium-connector-postgres"

# fresh DIR: true when DIR holds jars resolved from this POM
fresh() { [ -f "$1/.stamp" ] && [ "$(cat "$1/.stamp")" = "$want" ] && [ -n "$(ls "$1"/*.jar 2>/dev/null)" ]; }

# resolve DIR MAVEN-ARGS...: copies the runtime dependencies into DIR
resolve() {
	local dir=$1
	shift
	rm -rf "$dir" && mkdir -p "$dir"
	mvn -B -ntp -f "$E2E_DIR/pom.xml" "$@" dependency:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$dir" >>"$E2E_LOGS/fetch.log" 2>&1 || {
		tail -50 "$E2E_LOGS/fetch.log" >&2
		die "fetch: maven failed ($*)"
	}
	echo "$want" >"$dir/.stamp"
}

if fresh "$KAFKA_LIBS" && fresh "$dbz"; then
	log "fetch: cached ($KAFKA_LIBS, $PLUGIN_PATH)"
	exit 0
fi
log "fetch: resolving Kafka and Debezium $DEBEZIUM_VERSION with Maven (log: $E2E_LOGS/fetch.log)"
: >"$E2E_LOGS/fetch.log"
fresh "$KAFKA_LIBS" || resolve "$KAFKA_LIBS" -Pkafka
fresh "$dbz" || resolve "$dbz" -Pdebezium -Ddebezium.version="$DEBEZIUM_VERSION"
log "fetch: $(ls "$KAFKA_LIBS" | wc -l) Kafka jars, $(ls "$dbz" | wc -l) Debezium $DEBEZIUM_VERSION jars"
