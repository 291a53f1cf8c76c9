#!/usr/bin/env bash
# Whole-process benchmark of `tickler dispatch --once`: raw send rate to a local SMTP server.
#
#     bench/dispatch.sh [CONTRACTS]     (default 5000; each contract has 4 timed emails)
#
# Imports CONTRACTS contracts that all end on 2027-06-30 (default plan: emails at -60, -30, -7
# and +7 days, 09:00 in each customer's zone), then dispatches as of 2027-05-02T12:00:00Z: just
# after the -60 step of every contract, before any -30 step, so exactly one email per contract
# is due and none is superseded by the catch-up rule. Each run gets a copy of the freshly
# imported database and its own SMTP test server (scripts/smtp-test-server.py, Debian's
# python3-aiosmtpd, loopback, a free port) and checks that the server received exactly
# CONTRACTS messages. Prints messages/s and peak RSS for each TICKLER_SEND_CONCURRENCY.
#
# Environment: TICKLER_BIN (default target/release/tickler, from the repository root),
# BENCH_CONCURRENCY (default "1 4 8"), BENCH_TIMEOUT (seconds per command, default 1800).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONTRACTS="${1:-5000}"
[[ "$CONTRACTS" =~ ^[1-9][0-9]*$ ]] || die "CONTRACTS must be a positive number, not \"$CONTRACTS\""
CONCURRENCY_LIST="${BENCH_CONCURRENCY:-1 4 8}"
END_DATE="2027-06-30"
NOW="2027-05-02T12:00:00Z"
check_bin
ensure_gnu_time
ensure_aiosmtpd

TMP="$(mktemp -d -t tickler-bench-dispatch.XXXXXX)"
cleanup() {
    stop_smtp
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export TICKLER_MAIL_FROM="Tickler <tickler@firm.example>"
export TICKLER_OUTBOX="$TMP/outbox"
unset TICKLER_DATABASE_URL TICKLER_SMTP_URL TICKLER_SEND_CONCURRENCY

echo "binary: $TICKLER_BIN ($("$TICKLER_BIN" --version))"

# One import, copied for every run.
TEMPLATE="$TMP/template.db"
timeout "$BENCH_TIMEOUT" python3 "$BENCH_DIR/gen_contracts.py" "$CONTRACTS" --owner "$BENCH_OWNER" --end "$END_DATE" >"$TMP/contracts.csv"
timeout 120 "$TICKLER_BIN" --database "sqlite://$TEMPLATE" user add --email "$BENCH_OWNER" --name "Bench Owner" >/dev/null
measure import "$TICKLER_BIN" --database "sqlite://$TEMPLATE" import contracts "$TMP/contracts.csv"
echo "import: $(grep -a '^imported ' "$TMP/import.err") in ${WALL_S}s"
if command -v sqlite3 >/dev/null; then
    # Fold the WAL into the main file so that one `cp` is a complete copy.
    sqlite3 "$TEMPLATE" 'PRAGMA wal_checkpoint(TRUNCATE);' >/dev/null
    echo "reminders scheduled: $(sqlite3 "$TEMPLATE" "SELECT count(*) FROM reminders WHERE status = 'scheduled'")"
fi

for c in $CONCURRENCY_LIST; do
    run="$TMP/run-c$c"
    mkdir -p "$run/mail"
    for f in "$TEMPLATE" "$TEMPLATE-wal"; do
        if [ -f "$f" ]; then
            cp "$f" "$run/bench.db${f#"$TEMPLATE"}"
        fi
    done
    start_smtp "$run/mail"
    measure "dispatch-c$c" env \
        TICKLER_SMTP_URL="smtp://127.0.0.1:$SMTP_PORT?tls=none" \
        TICKLER_SEND_CONCURRENCY="$c" \
        "$TICKLER_BIN" --database "sqlite://$run/bench.db" dispatch --once --now "$NOW"
    stop_smtp
    summary="$(grep -a '^claimed ' "$TMP/dispatch-c$c.err" || true)"
    received="$(find "$run/mail" -name '*.eml' | wc -l)"
    sent="$(sed -n 's/.* sent \([0-9]*\),.*/\1/p' <<<"$summary")"
    echo "concurrency $c: $summary; $received .eml files received"
    printf 'RESULT dispatch contracts=%s concurrency=%s wall_s=%s cpu_s=%s messages_per_s=%s peak_rss_mib=%s sent=%s received=%s\n' \
        "$CONTRACTS" "$c" "$WALL_S" "$CPU_S" "$(per_second "$received" "$WALL_S")" "$(mib "$PEAK_RSS_KB")" "${sent:-?}" "$received"
    if [ "$received" != "$CONTRACTS" ] || [ "${sent:-}" != "$CONTRACTS" ]; then
        die "concurrency $c: expected $CONTRACTS messages sent and received, got sent=${sent:-?} received=$received"
    fi
    rm -rf "$run"
done
