#!/usr/bin/env bash
# The end-to-end suite: PostgreSQL 15 -> Debezium 2.6 on Kafka Connect 4.0 ->
# Kafka 4.0 (KRaft) -> starsink (3 replicas, one group) -> StarRocks emulator,
# all as local processes on 127.0.0.1. Everything started here is stopped on
# exit, also on failure; logs are in .cache/e2e/logs/.
#
#   bash e2e/run.sh                 the whole scenario (docs/performance.md, "End-to-end")
#   bash e2e/run.sh --capture-only  only refresh debezium/testdata/captured/
#   bash e2e/run.sh --source-only   capture, then time Debezium alone on the bulk steps (no starsink)
#
# Environment: E2E_BULK_ROWS (default 950000), E2E_CHANGE_ROWS (default 200000),
# E2E_REPLICAS (default 3), E2E_TIMEOUT (go test -timeout, default 25m).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

CAPTURE_ONLY=0
SOURCE_ONLY=0
for a in "$@"; do
	case "$a" in
	--capture-only) CAPTURE_ONLY=1 ;;
	--source-only) CAPTURE_ONLY=1 SOURCE_ONLY=1 ;;
	-h | --help) sed -n '2,13p' "$0"; exit 0 ;;
	*) echo "unknown argument: $a" >&2; exit 2 ;;
	esac
done

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

# A clean database and no leftover replication slot, so every run starts from
# the same state (the snapshot is part of the scenario).
started_pg=1 # set first: a server that came up before a later check failed is stopped too
bash "$E2E_DIR/pg.sh" start || fail postgres "starting PostgreSQL"
PSQL=(psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -Atq)
"${PSQL[@]}" -d postgres -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name='starsink_e2e'" >/dev/null &&
	"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" &&
	"${PSQL[@]}" -d postgres -c "CREATE DATABASE $PG_DB" || fail postgres "resetting database $PG_DB"

bash "$E2E_DIR/kafka.sh" start || { started_kafka=1; fail "kafka connect" "starting Kafka"; }
started_kafka=1

if [ "$CAPTURE_ONLY" = 0 ]; then
	# EMULATOR_ARGS overrides the emulator's command line (its flags name the
	# FE HTTP, BE HTTP and MySQL addresses).
	# shellcheck disable=SC2086
	nohup "$BIN/starrocks-emulator" ${EMULATOR_ARGS:---fe-http-addr 127.0.0.1:$SR_HTTP_PORT --be-http-addr 127.0.0.1:$SR_BE_PORT --mysql-addr 127.0.0.1:$SR_MYSQL_PORT} \
		>"$E2E_LOGS/emulator.log" 2>&1 &
	echo $! >"$E2E_RUN/emulator.pid"
	sleep 1
	if ! kill -0 "$(cat "$E2E_RUN/emulator.pid")" 2>/dev/null && [ -z "${EMULATOR_ARGS:-}" ]; then
		# flags not understood: fall back to the emulator's defaults, StarRocks' own ports
		log "emulator rejected its flags ($(head -c 300 "$E2E_LOGS/emulator.log")); starting it with its default ports"
		SR_HTTP_PORT=8030 SR_BE_PORT=8040 SR_MYSQL_PORT=9030
		nohup "$BIN/starrocks-emulator" >>"$E2E_LOGS/emulator.log" 2>&1 &
		echo $! >"$E2E_RUN/emulator.pid"
	fi
	wait_for "emulator MySQL on :$SR_MYSQL_PORT" 30 port_open "$SR_MYSQL_PORT" || fail emulator "starting the StarRocks emulator"

	sed -e "s/\${KAFKA_PORT}/$KAFKA_PORT/g" -e "s/\${SR_HTTP_PORT}/$SR_HTTP_PORT/g" \
		-e "s/\${SR_MYSQL_PORT}/$SR_MYSQL_PORT/g" -e "s/\${TOPIC_PREFIX_RE}/${TOPIC_PREFIX//./\\\\.}/g" \
		"$E2E_DIR/starsink.yaml" >"$E2E_RUN/starsink.yaml"
fi

log "running the scenario (go test -tags e2e ./e2e/)"
export E2E_PG_DSN="postgres://postgres@127.0.0.1:$PG_PORT/$PG_DB?sslmode=disable"
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
(cd "$E2E_ROOT" && go test -tags e2e -count=1 -v -timeout "${E2E_TIMEOUT:-25m}" -run '^TestIntegration(EndToEnd|SecureListener)$' ./e2e/) 2>&1 |
	tee "$E2E_LOGS/scenario.log"
rc=${PIPESTATUS[0]}
if [ "$CAPTURE_ONLY" = 0 ] && [ -n "$(ls "$E2E_CAPTURE_DIR" 2>/dev/null)" ]; then
	log "decoding this run's captured messages (go test -run TestCaptured ./debezium/)"
	(cd "$E2E_ROOT" && STARSINK_CAPTURED_DIR="$E2E_CAPTURE_DIR" go test -count=1 -v -run '^TestCaptured$' ./debezium/) \
		>"$E2E_LOGS/captured.log" 2>&1 || rc=1
	grep -E '^\s*--- (PASS|FAIL)|^\s+\S+_test.go:' "$E2E_LOGS/captured.log" | grep -v -- '--- PASS: TestCaptured/' || true
	cat "$E2E_LOGS/captured.log" >>"$E2E_LOGS/scenario.log"
fi
passed=$(grep -cE '^\s*--- PASS' "$E2E_LOGS/scenario.log")
failed=$(grep -cE '^\s*--- FAIL' "$E2E_LOGS/scenario.log")
if [ "$rc" != 0 ]; then
	[ "$failed" = 0 ] && failed=1
	failed_components+=(connect emulator starsink-1 starsink-2 starsink-3)
fi
summary "$passed" "$failed"
exit "$rc"
