#!/usr/bin/env bash
# Contract test: a real `capreg serve` on a synthetic fleet, probed by schemathesis against api/openapi.yaml,
# then stopped with SIGTERM (it must drain, checkpoint and exit 0). Used by .ci/run; runnable by hand:
#   api/contract-test.sh [EXAMPLES_PER_OPERATION]   (needs: pip install schemathesis==4.32.5)
set -euo pipefail
cd "$(dirname "$0")/.."
examples="${1:-${SCHEMATHESIS_EXAMPLES:-50}}"
scratch="${CAPREG_SCRATCH:-.build}"

swift build --scratch-path "$scratch" --product capreg
capreg="$scratch/debug/capreg"
tmp="$(mktemp -d)"
server_pid=""
cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then kill -KILL "$server_pid"; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

"$capreg" synth --hosts 200 --days 10 --start 2025-01-01 --devices --ingest --db "$tmp/ci.sqlite"
reader="reader-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
admin="admin-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '# contract test tokens\nreader %s\nadmin %s\n' "$reader" "$admin" > "$tmp/tokens"

# Port 0: the kernel picks a free port, and the start line in the log says which. The synthetic fleet is
# dated 2025: a wide --stale-after keeps its hosts fresh, so answers carry hosts (stale lists are empty).
"$capreg" serve --db "$tmp/ci.sqlite" --listen 127.0.0.1:0 --tokens "$tmp/tokens" --stale-after 36500d --min-revision-wait 0 2> "$tmp/serve.log" &
server_pid=$!
port=""
for _ in $(seq 1 100); do
    port="$(grep -so 'listening on 127.0.0.1:[0-9]*' "$tmp/serve.log" | head -1 | cut -d: -f2 || true)"
    if [[ -n "$port" ]] && curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
    sleep 0.1
done
if [[ -z "$port" ]]; then cat "$tmp/serve.log"; echo "contract test: the server did not become ready" >&2; exit 1; fi

# One worker: with several, hypothesis on Python 3.11 can hit a CPython ast race ("AST constructor recursion
# depth mismatch") inside schemathesis itself, an error that says nothing about the API.
# Checks: everything that applies to this API.
# - not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
#   response_headers_conformance: every answer is documented and shaped as documented (errors included).
# - negative_data_rejection, missing_required_header: invalid input is refused with a 4xx.
# - unsupported_method, allow_header_conformance: other methods get 405 with a true Allow header.
# - ignored_auth: requests without or with a wrong token are refused (401).
# Not run: positive_data_acceptance (schema-valid reports may still carry bytes the decoders refuse, and
# any string is a schema-valid `where` but few are valid expressions: 400 is the correct answer there);
# use_after_free / ensure_resource_availability (no DELETE, nothing is created at a URL);
# object_level_authorization (tokens carry roles, not ownership of hosts).
status=0
schemathesis --config-file api/schemathesis.toml run api/openapi.yaml --url "http://127.0.0.1:$port" \
    --header "Authorization: Bearer $admin" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,negative_data_rejection,missing_required_header,unsupported_method,allow_header_conformance,ignored_auth \
    --max-examples "$examples" --seed 1 --workers 1 --request-timeout 10 \
    --report-dir "$tmp/schemathesis-report" || status=$?

kill -TERM "$server_pid"
serve_status=0
wait "$server_pid" || serve_status=$?
server_pid=""
grep -E 'listening on|stopping|stopped' "$tmp/serve.log" || true
if ((serve_status != 0)); then cat "$tmp/serve.log"; echo "contract test: capreg serve exited $serve_status after SIGTERM" >&2; exit 1; fi
if ((status != 0)); then echo "contract test: schemathesis failed ($status)" >&2; exit "$status"; fi
echo "contract test: schemathesis passed ($examples examples per operation); capreg serve exited 0 on SIGTERM"
