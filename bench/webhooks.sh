#!/usr/bin/env bash
# Webhook deliveries per second on SQLite: ROWS contracts imported while a receiver is
# registered for contract.created and reminder.scheduled (each contract makes one event
# and one per planned step), then `tickler dispatch --once` posts them to a local receiver
# (bench/webhook_receiver.py: Python's threading HTTP server, answering 204 at once), which
# prints how many deliveries came per second between its first and its last.
#
#     bench/webhooks.sh [ROWS]     (default 2000)
#
# Environment: TICKLER_BIN (default target/release/tickler), BENCH_TIMEOUT.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROWS="${1:-2000}"
check_bin

TMP="$(mktemp -d -t tickler-bench-webhooks.XXXXXX)"
RECEIVER_PID=""
cleanup() {
    if [ -n "$RECEIVER_PID" ]; then
        kill "$RECEIVER_PID" 2>/dev/null || true
        wait "$RECEIVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export TICKLER_MAIL_FROM="Tickler <tickler@firm.example>"
export TICKLER_OUTBOX="$TMP/outbox"
unset TICKLER_SMTP_URL
export TICKLER_DATABASE_URL="sqlite://$TMP/bench.db"

echo "binary: $TICKLER_BIN ($("$TICKLER_BIN" --version))"
timeout "$BENCH_TIMEOUT" python3 "$BENCH_DIR/gen_contracts.py" "$ROWS" --owner "$BENCH_OWNER" >"$TMP/contracts.csv"
timeout 120 "$TICKLER_BIN" user add --email "$BENCH_OWNER" --name "Bench Owner" >/dev/null
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
timeout 120 "$TICKLER_BIN" webhook add --url "http://127.0.0.1:$PORT/hook" \
    --events contract.created,reminder.scheduled >/dev/null 2>&1
start="$(now_s)"
timeout "$BENCH_TIMEOUT" "$TICKLER_BIN" import contracts "$TMP/contracts.csv" \
    >/dev/null 2>"$TMP/import.err" || { sed -n '1,20p' "$TMP/import.err" >&2; die "the import failed"; }
import_s="$(python3 -c "print(f'{$(now_s) - $start:.2f}')")"
events="$("$TICKLER_BIN" webhook deliveries --status pending --limit 1 --json \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["event_id"])')"
echo "$ROWS contracts imported in $import_s s, with $events webhook events written in the same transactions"

python3 "$BENCH_DIR/webhook_receiver.py" "$PORT" "$events" >"$TMP/receiver.out" &
RECEIVER_PID=$!
for _ in $(seq 1 100); do
    grep -q ready "$TMP/receiver.out" 2>/dev/null && break
    sleep 0.05
done
start="$(now_s)"
timeout "$BENCH_TIMEOUT" "$TICKLER_BIN" dispatch --once 2>"$TMP/dispatch.err" >/dev/null \
    || { sed -n '1,20p' "$TMP/dispatch.err" >&2; die "dispatch failed"; }
dispatch_s="$(python3 -c "print(f'{$(now_s) - $start:.2f}')")"
wait "$RECEIVER_PID" || true
RECEIVER_PID=""
grep "webhooks delivered" "$TMP/dispatch.err" || true
echo "dispatch --once took $dispatch_s s in all; the receiver saw: $(grep deliveries "$TMP/receiver.out")"
