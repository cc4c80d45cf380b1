# Shared paths and helpers of the end-to-end scripts; sourced, not run.
# Everything lives under .cache/e2e/ at the repository root (git-ignored).

E2E_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
E2E_DIR="$E2E_ROOT/e2e"
E2E_CACHE="${E2E_CACHE:-$E2E_ROOT/.cache/e2e}"
E2E_LOGS="$E2E_CACHE/logs"
E2E_RUN="$E2E_CACHE/run"
KAFKA_LIBS="$E2E_CACHE/kafka/libs"
# The Debezium release the run uses (the matrix runs 2.6.2.Final and
# 3.6.1.Final); each has its own Connect plugin.path.
DEBEZIUM_VERSION="${DEBEZIUM_VERSION:-2.6.2.Final}"
PLUGIN_PATH="$E2E_CACHE/plugins/$DEBEZIUM_VERSION"

# Fixed loopback ports below Linux's ephemeral range (32768-60999): inside
# it, any outgoing connection of the machine may hold the port at the moment
# a service binds it (a CI run once lost PostgreSQL's 55432 that way).
PG_PORT="${PG_PORT:-25432}"
KAFKA_PORT="${KAFKA_PORT:-29092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-29093}"
CONNECT_PORT="${CONNECT_PORT:-28083}"
# The broker's SASL_SSL listener (PLAIN and SCRAM-SHA-512 over TLS, with a
# certificate authority made for the run) and its one user: test-only
# credentials, never used outside this suite.
KAFKA_SASL_PORT="${KAFKA_SASL_PORT:-29094}"
E2E_SASL_USER="${E2E_SASL_USER:-starsink}"
E2E_SASL_PASSWORD="${E2E_SASL_PASSWORD:-starsink-e2e-secret}"
KAFKA_TLS_DIR="$E2E_CACHE/kafka/tls"
TOPIC_PREFIX="${TOPIC_PREFIX:-dip.cdc}"
PG_DB="${PG_DB:-subway}"

mkdir -p "$E2E_LOGS" "$E2E_RUN"

log() { printf '%s e2e: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND once a second.
wait_for() {
	local what=$1 secs=$2
	shift 2
	local i
	for ((i = 0; i < secs; i++)); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		sleep 1
	done
	log "timed out after ${secs}s waiting for $what"
	return 1
}

# port_open PORT: true when something listens on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# stop_pidfile FILE: TERM the process whose pid FILE holds, then KILL after 20 s.
stop_pidfile() {
	local f=$1 pid i
	[ -f "$f" ] || return 0
	pid=$(cat "$f")
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null || true
		for ((i = 0; i < 40; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.5
		done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$f"
}
