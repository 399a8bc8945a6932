# A throwaway PostgreSQL cluster for the benches, sourced (bash): initdb as `postgres` (when run as root) in a
# directory, started on a free loopback port with trust auth; the caller stops it (pg_stop) in its EXIT trap.
#   source bench/lib/pg.sh
#   pg_start DIR [extra postgres -c settings...]   sets PG_PORT, PG_DIR; creates nothing but the cluster
#   pg_psql DB ARGS...                              psql -X -q on that cluster as postgres
#   pg_stop                                         fast shutdown, if started (safe to call twice)
# PG_BIN: the server binaries (default: the newest /usr/lib/postgresql/*/bin).
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
PG_PORT="" PG_DIR="" PG_STARTED=0
pg_as() { if [[ $(id -u) == 0 ]]; then /usr/sbin/runuser -u postgres -- "$@"; else "$@"; fi; }
pg_free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pg_start() {
    local dir=$1 opt; shift
    [[ -n "$PG_BIN" && -x "$PG_BIN/initdb" ]] || { echo "bench/lib/pg.sh: needs PostgreSQL (apt-get install -y postgresql-15)" >&2; return 69; }
    mkdir -p "$dir"
    chmod 755 "$dir"
    [[ $(id -u) != 0 ]] || chown postgres "$dir"
    PG_DIR=$dir
    pg_as "$PG_BIN/initdb" -D "$dir/data" --locale=C -E UTF8 --auth=trust -U postgres --no-sync > "$dir/initdb.log" 2>&1
    PG_PORT=$(pg_free_port)
    opt="-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$dir -c max_connections=200"
    for s in "$@"; do opt+=" -c $s"; done
    pg_as "$PG_BIN/pg_ctl" start -w -t 60 -D "$dir/data" -l "$dir/postgres.log" -o "$opt" > /dev/null
    PG_STARTED=1
}
pg_psql() { local db=$1; shift; "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$db" "$@"; }
pg_stop() {
    ((PG_STARTED)) || return 0
    pg_as "$PG_BIN/pg_ctl" stop -m fast -D "$PG_DIR/data" > /dev/null 2>&1 || true
    PG_STARTED=0
}
