#!/usr/bin/env bash
# The end-to-end suite: PostgreSQL 15 -> Debezium on Kafka Connect 4.0 ->
# Kafka 4.0 (KRaft) -> starsink -> StarRocks emulator, all as local
# processes on 127.0.0.1. Everything started here is stopped on exit, also
# on failure; logs are in .cache/e2e/logs/.
#
#   bash e2e/run.sh                 the reference scenario on 2.6-raw-schemas (docs/performance.md, "End-to-end")
#   bash e2e/run.sh --full CELLS --short CELLS
#                                   the reference scenario on some cells, the short one on others
#   bash e2e/run.sh --capture-only  only refresh debezium/testdata/captured/<cell>/ of the --full cells
#   bash e2e/run.sh --source-only   capture, then time Debezium alone on the bulk steps (no starsink)
#   --repair CELLS                  also the repair scenario (incremental snapshot repairs; e2e/repair_test.go) on CELLS
#   --no-secure                     skip the SASL_SSL listener's test (it does not involve Debezium)
#   bash e2e/run.sh --no-secure --repair 2.6-raw-schemas
#                                   the repair scenario alone
#
# A cell is <debezium>-<topics>-<values>: 2.6 or 3.6 (2.6.2.Final, 3.6.1.Final),
# raw, rewrite or tombstone, schemas or schemaless (e2e/README.md, "The matrix");
# CELLS is a comma-separated list, all of one Debezium release (one stack).
#
# Environment: E2E_BULK_ROWS (default 950000), E2E_CHANGE_ROWS (default 200000),
# E2E_REPLICAS (default 3), E2E_RESTART_ROWS (default 50000, the repair scenario's interrupted snapshot),
# E2E_TIMEOUT (go test -timeout, default 25m per full cell, 6m per short one, 16m per repair one).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

CAPTURE_ONLY=0
SOURCE_ONLY=0
SECURE=1
FULL_CELLS=""
SHORT_CELLS=""
REPAIR_CELLS=""
cells_given=0
while [ $# -gt 0 ]; do
	case "$1" in
	--capture-only) CAPTURE_ONLY=1 ;;
	--source-only) CAPTURE_ONLY=1 SOURCE_ONLY=1 ;;
	--no-secure) SECURE=0 ;;
	--full) FULL_CELLS=${2:?--full needs a list of cells}; cells_given=1; shift ;;
	--short) SHORT_CELLS=${2:?--short needs a list of cells}; cells_given=1; shift ;;
	--repair) REPAIR_CELLS=${2:?--repair needs a list of cells}; cells_given=1; shift ;;
	-h | --help) sed -n '2,23p' "$0"; exit 0 ;;
	*) echo "unknown argument: $1" >&2; exit 2 ;;
	esac
	shift
done
[ "$cells_given" = 1 ] || FULL_CELLS=2.6-raw-schemas
# One stack runs one Debezium release: every cell must name the same one.
DEBEZIUM_VERSION=""
for c in ${FULL_CELLS//,/ } ${SHORT_CELLS//,/ } ${REPAIR_CELLS//,/ }; do
	case "${c%%-*}" in
	2.6) v=2.6.2.Final ;;
	3.6) v=3.6.1.Final ;;
	*) echo "cell $c: Debezium ${c%%-*} is not in the matrix (2.6, 3.6)" >&2; exit 2 ;;
	esac
	[ -z "$DEBEZIUM_VERSION" ] || [ "$DEBEZIUM_VERSION" = "$v" ] ||
		{ echo "cells of Debezium $DEBEZIUM_VERSION and $v in one run: run them separately" >&2; exit 2; }
	DEBEZIUM_VERSION=$v
done
[ -n "$DEBEZIUM_VERSION" ] || { echo "no cell to run" >&2; exit 2; }
export DEBEZIUM_VERSION PLUGIN_PATH="$E2E_CACHE/plugins/$DEBEZIUM_VERSION"

SR_HTTP_PORT="${SR_HTTP_PORT:-28030}"
SR_BE_PORT="${SR_BE_PORT:-28040}"
SR_MYSQL_PORT="${SR_MYSQL_PORT:-29030}"
BIN="$E2E_CACHE/bin"
started_pg=0
started_kafka=0
failed_components=()
t_start=$(date +%s)

summary() {
	local passed=$1 failed=$2
	echo "e2e: $passed passed, $failed failed ($(($(date +%s) - t_start))s)"
}

cleanup() {
	local rc=$?
	for f in "$E2E_RUN"/starsink-*.pid; do [ -e "$f" ] && stop_pidfile "$f"; done
	stop_pidfile "$E2E_RUN/emulator.pid"
	[ "$started_kafka" = 1 ] && bash "$E2E_DIR/kafka.sh" stop
	[ "$started_pg" = 1 ] && bash "$E2E_DIR/pg.sh" stop
	if [ "$rc" != 0 ]; then
		local f
		for f in "${failed_components[@]}"; do
			if [ "$f" = starsink ]; then
				# the replicas of the cells that failed (cell 3.6-raw-schemas: starsink-d36_raw_schemas-N.log,
				# and those of its self-managed tables' step, starsink-d36_raw_schemas_own-N.log)
				local c l id
				for c in $(grep -oE -- '--- FAIL: TestIntegration(EndToEnd|Matrix|Repair)/[^/ ]+' "$E2E_LOGS/scenario.log" 2>/dev/null | sed 's|.*/||' | sort -u); do
					id=d$(echo "$c" | tr -d . | tr - _)
					for l in "$E2E_LOGS/starsink-$id"-*.log "$E2E_LOGS/starsink-${id}_"{own,repair,restart}-*.log; do
						[ -f "$l" ] || continue
						echo "----- last lines of $l -----" >&2
						tail -40 "$l" >&2
					done
				done
				continue
			fi
			[ -f "$E2E_LOGS/$f.log" ] || continue
			echo "----- last lines of $E2E_LOGS/$f.log -----" >&2
			tail -40 "$E2E_LOGS/$f.log" >&2
		done
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# fail COMPONENT MESSAGE: records the component whose log is printed and stops.
fail() {
	failed_components+=("$1")
	log "FAIL: $2"
	summary 0 1
	exit 1
}

mkdir -p "$BIN"
if [ "$CAPTURE_ONLY" = 0 ]; then
	log "building starsink and the StarRocks emulator"
	(cd "$E2E_ROOT" && go build -o "$BIN/starsink" ./cmd/starsink && go build -o "$BIN/starrocks-emulator" ./cmd/starrocks-emulator) \
		>"$E2E_LOGS/build.log" 2>&1 || fail build "go build ./cmd/starsink ./cmd/starrocks-emulator"
fi

bash "$E2E_DIR/fetch.sh" || fail fetch "fetching Kafka and Debezium"

# No leftover database or replication slot, so every run starts from the
# same state (the snapshot is part of the scenario); each cell creates its
# own database.
started_pg=1 # set first: a server that came up before a later check failed is stopped too
bash "$E2E_DIR/pg.sh" start || fail postgres "starting PostgreSQL"
PSQL=(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -Atq)
"${PSQL[@]}" -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots" >/dev/null ||
	fail postgres "dropping the replication slots"
dbs=$("${PSQL[@]}" -d postgres -c "SELECT datname FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1')") ||
	fail postgres "listing the databases"
for db in $dbs; do
	"${PSQL[@]}" -d postgres -c "DROP DATABASE \"$db\" WITH (FORCE)" || fail postgres "dropping database $db"
done

bash "$E2E_DIR/kafka.sh" start || { started_kafka=1; fail "kafka connect" "starting Kafka"; }
started_kafka=1

if [ "$CAPTURE_ONLY" = 0 ]; then
	# The reference pipeline's StarRocks runs shared-data; the emulator takes
	# its strictest answers (docs/emulator.md): the shared-data ordering of
	# #75014 with memtables small enough to split every large load,
	# strict_mode for loads that do not set it, and the BE scanner's
	# information_schema spelling. EMULATOR_ARGS replaces these switches
	# (the addresses stay).
	# shellcheck disable=SC2086
	nohup "$BIN/starrocks-emulator" --fe-http-addr "127.0.0.1:$SR_HTTP_PORT" --be-http-addr "127.0.0.1:$SR_BE_PORT" \
		--mysql-addr "127.0.0.1:$SR_MYSQL_PORT" ${EMULATOR_ARGS:---shared-data --memtable-rows 1000 --strict-mode --info-schema be} \
		>"$E2E_LOGS/emulator.log" 2>&1 &
	echo $! >"$E2E_RUN/emulator.pid"
	wait_for "emulator MySQL on :$SR_MYSQL_PORT" 30 port_open "$SR_MYSQL_PORT" || fail emulator "starting the StarRocks emulator"

	# the ports; the scenario fills in each cell's part
	sed -e "s/\${KAFKA_PORT}/$KAFKA_PORT/g" -e "s/\${SR_HTTP_PORT}/$SR_HTTP_PORT/g" \
		-e "s/\${SR_MYSQL_PORT}/$SR_MYSQL_PORT/g" "$E2E_DIR/starsink.yaml" >"$E2E_RUN/starsink.yaml"
fi

tests='TestIntegrationEndToEnd|TestIntegrationMatrix|TestIntegrationRepair'
[ "$SECURE" = 1 ] && tests="$tests|TestIntegrationSecureListener"
nfull=$(echo "$FULL_CELLS" | tr ',' '\n' | grep -c .)
nshort=$(echo "$SHORT_CELLS" | tr ',' '\n' | grep -c .)
nrepair=$(echo "$REPAIR_CELLS" | tr ',' '\n' | grep -c .)
log "running the scenario on Debezium $DEBEZIUM_VERSION (go test -tags e2e ./e2e/): full ${FULL_CELLS:-none}; short ${SHORT_CELLS:-none}; repair ${REPAIR_CELLS:-none}"
export E2E_FULL_CELLS="$FULL_CELLS" E2E_SHORT_CELLS="$SHORT_CELLS" E2E_REPAIR_CELLS="$REPAIR_CELLS"
export E2E_PG_DSN="postgres://postgres@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
export E2E_KAFKA="127.0.0.1:$KAFKA_PORT"
export E2E_CONNECT_URL="http://127.0.0.1:$CONNECT_PORT"
export E2E_SR_MYSQL="127.0.0.1:$SR_MYSQL_PORT"
export E2E_SR_HTTP="127.0.0.1:$SR_HTTP_PORT"
export E2E_KAFKA_SASL="127.0.0.1:$KAFKA_SASL_PORT" E2E_KAFKA_CA="$KAFKA_TLS_DIR/ca.pem"
export E2E_SASL_USER E2E_SASL_PASSWORD
export E2E_STARSINK_BIN="$BIN/starsink"
export E2E_STARSINK_CONFIG="$E2E_RUN/starsink.yaml"
export E2E_LOGS E2E_RUN TOPIC_PREFIX
# --capture-only refreshes the committed messages; a full run captures into
# the cache and checks the decoder against them, leaving the tree clean.
if [ "$CAPTURE_ONLY" = 1 ]; then
	export E2E_CAPTURE_DIR="$E2E_ROOT/debezium/testdata/captured"
else
	export E2E_CAPTURE_DIR="$E2E_CACHE/captured"
	rm -rf "$E2E_CAPTURE_DIR"
fi
export E2E_CAPTURE_ONLY="$CAPTURE_ONLY" E2E_SOURCE_ONLY="$SOURCE_ONLY"
(cd "$E2E_ROOT" && go test -tags e2e -count=1 -v -timeout "${E2E_TIMEOUT:-$((25 * nfull + 6 * nshort + 16 * nrepair + 5))m}" -run "^($tests)\$" ./e2e/) 2>&1 |
	tee "$E2E_LOGS/scenario.log"
rc=${PIPESTATUS[0]}
if [ "$CAPTURE_ONLY" = 0 ] && [ -n "$(ls "$E2E_CAPTURE_DIR" 2>/dev/null)" ]; then
	log "decoding this run's captured messages (go test -run TestCapturedMatrix ./debezium/)"
	(cd "$E2E_ROOT" && STARSINK_CAPTURED_DIR="$E2E_CAPTURE_DIR" go test -count=1 -v -run '^TestCapturedMatrix$' ./debezium/) \
		>"$E2E_LOGS/captured.log" 2>&1 || rc=1
	grep -E '^\s*--- (PASS|FAIL)|^\s+\S+_test.go:' "$E2E_LOGS/captured.log" | grep -v -- '--- PASS: TestCapturedMatrix/' || true
	cat "$E2E_LOGS/captured.log" >>"$E2E_LOGS/scenario.log"
fi
passed=$(grep -cE '^\s*--- PASS' "$E2E_LOGS/scenario.log")
failed=$(grep -cE '^\s*--- FAIL' "$E2E_LOGS/scenario.log")
if [ "$rc" != 0 ]; then
	[ "$failed" = 0 ] && failed=1
	failed_components+=(connect emulator starsink)
fi
summary "$passed" "$failed"
exit "$rc"
