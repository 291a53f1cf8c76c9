#!/usr/bin/env bash
# Requests per second of the JSON API on SQLite: reading a page of 50 contracts, and
# entering contracts (each with its Idempotency-Key).
#
#     bench/api.sh [ROWS] [CLIENTS] [SECONDS]     (defaults 10000, 4, 10)
#
# Imports ROWS generated contracts into a fresh database with the release binary, makes a
# token with `tickler token create`, starts `tickler serve` on a free loopback port and runs
# bench/api_rate.py with CLIENTS connections for SECONDS per figure.
#
# Environment: TICKLER_BIN (default target/release/tickler), BENCH_TIMEOUT.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROWS="${1:-10000}"
CLIENTS="${2:-4}"
SECONDS_EACH="${3:-10}"
check_bin
command -v curl >/dev/null || die "curl is missing"

TMP="$(mktemp -d -t tickler-bench-api.XXXXXX)"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export TICKLER_MAIL_FROM="Tickler <tickler@firm.example>"
export TICKLER_OUTBOX="$TMP/outbox"
unset TICKLER_DATABASE_URL TICKLER_SMTP_URL
URL="sqlite://$TMP/bench.db"

echo "binary: $TICKLER_BIN ($("$TICKLER_BIN" --version))"
timeout "$BENCH_TIMEOUT" python3 "$BENCH_DIR/gen_contracts.py" "$ROWS" --owner "$BENCH_OWNER" >"$TMP/contracts.csv"
timeout 120 "$TICKLER_BIN" --database "$URL" user add --email "$BENCH_OWNER" --name "Bench Owner" >/dev/null
timeout "$BENCH_TIMEOUT" "$TICKLER_BIN" --database "$URL" import contracts "$TMP/contracts.csv" \
    >/dev/null 2>"$TMP/import.err" || { sed -n '1,20p' "$TMP/import.err" >&2; die "the import failed"; }
token="$(timeout 120 "$TICKLER_BIN" --database "$URL" token create --user "$BENCH_OWNER" 2>/dev/null | tail -n 1)"
[ -n "$token" ] || die "no token"
customer="$(timeout 120 "$TICKLER_BIN" --database "$URL" customer add --name "Bench API" --email api@bench.example)"

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
"$TICKLER_BIN" --database "$URL" serve --listen "127.0.0.1:$PORT" >"$TMP/serve.out" 2>"$TMP/serve.err" &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$BASE/healthz" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { sed -n '1,20p' "$TMP/serve.err" >&2; die "tickler serve stopped"; }
    sleep 0.1
done
curl -fsS -o /dev/null "$BASE/healthz" || die "tickler serve did not answer on $BASE"

echo "$ROWS contracts, $CLIENTS clients, ${SECONDS_EACH} s per figure"
printf '%s\n' "$token" | timeout "$BENCH_TIMEOUT" python3 "$BENCH_DIR/api_rate.py" \
    "$BASE" "$customer" "$SECONDS_EACH" "$CLIENTS"
