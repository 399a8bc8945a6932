# Where a `capreg serve --listen 127.0.0.1:0` listens, sourced (bash):
#   source bench/lib/serve.sh
#   port=$(serve_port LOG)   waits up to 30 s for "listening on 127.0.0.1:PORT" in LOG (its standard error)
#                            and prints PORT; otherwise prints LOG to standard error and fails.
serve_port() {
    local log=$1 port=""
    for _ in $(seq 1 300); do
        port=$(grep -so 'listening on 127.0.0.1:[0-9]*' "$log" | head -1 | cut -d: -f2 || true)
        [[ -n "$port" ]] && { echo "$port"; return 0; }
        sleep 0.1
    done
    cat "$log" >&2
    return 1
}
