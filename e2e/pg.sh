#!/usr/bin/env bash
# PostgreSQL 15 for the end-to-end suite: a private cluster in .cache/e2e/pg on
# 127.0.0.1:$PG_PORT with wal_level=logical, run as the unprivileged postgres
# user (PostgreSQL refuses to run as root).
#   pg.sh install | start | stop | status
set -euo pipefail
. "$(dirname "$0")/lib.sh"

PGDATA="$E2E_CACHE/pg/data"
PGSOCK="$E2E_CACHE/pg/sock"

pgbin() {
	local d
	for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
		[ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
	done
	return 1
}

as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

install() {
	if pgbin >/dev/null; then return 0; fi
	[ "$(id -u)" = 0 ] || die "PostgreSQL missing and not root: apt-get install -y postgresql-15"
	log "pg: installing postgresql-15 from Debian"
	export DEBIAN_FRONTEND=noninteractive
	{ apt-get update && { apt-get install -y --no-install-recommends postgresql-15 || apt-get install -y --no-install-recommends postgresql; }; } \
		>"$E2E_LOGS/pg-install.log" 2>&1 || { tail -30 "$E2E_LOGS/pg-install.log" >&2; die "pg: apt-get failed"; }
	# Debian's package starts its own cluster on 5432; ours is separate.
	pgbin >/dev/null || die "pg: pg_ctl not found after install"
}

start() {
	install
	local bin
	bin=$(pgbin)
	mkdir -p "$E2E_CACHE/pg" "$PGSOCK"
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$E2E_CACHE/pg" "$PGSOCK"
		# the postgres user must be able to reach the cache folder
		local d="$E2E_CACHE"
		while [ "$d" != / ]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
	fi
	if [ ! -f "$PGDATA/PG_VERSION" ]; then
		log "pg: initdb $PGDATA"
		as_pg "$bin/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$E2E_LOGS/pg-initdb.log" 2>&1 ||
			{ cat "$E2E_LOGS/pg-initdb.log" >&2; die "pg: initdb failed"; }
		cat >>"$PGDATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PGSOCK'
wal_level = logical
max_wal_senders = 10
max_replication_slots = 10
shared_buffers = 256MB
max_wal_size = 4GB
synchronous_commit = off
fsync = off
full_page_writes = off
timezone = 'UTC'
CONF
	fi
	if as_pg "$bin/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
		log "pg: already running"
	else
		: >"$E2E_LOGS/postgres.log"
		chown postgres: "$E2E_LOGS/postgres.log" 2>/dev/null || true
		# -p: the port follows PG_PORT even for a cluster initialised with another
		as_pg "$bin/pg_ctl" -D "$PGDATA" -l "$E2E_LOGS/postgres.log" -o "-p $PG_PORT" -w -t 60 start >/dev/null ||
			{ tail -30 "$E2E_LOGS/postgres.log" >&2; die "pg: start failed"; }
	fi
	as_pg "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -Atqc "SELECT 1 FROM pg_database WHERE datname='$PG_DB'" | grep -q 1 ||
		as_pg "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -qc "CREATE DATABASE $PG_DB"
	log "pg: up on 127.0.0.1:$PG_PORT (database $PG_DB)"
}

stop() {
	local bin
	bin=$(pgbin) || return 0
	[ -f "$PGDATA/PG_VERSION" ] || return 0
	as_pg "$bin/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null 2>&1 || true
}

status() { as_pg "$(pgbin)/pg_ctl" -D "$PGDATA" status; }

case "${1:-}" in
install | start | stop | status) "$1" ;;
*) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
