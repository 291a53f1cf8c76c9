#!/usr/bin/env bash
# Whole-process benchmark of 1, 2 and 3 `tickler dispatch --once` processes sharing one
# PostgreSQL database: the send rate, how the work splits, and that nothing is sent twice.
#
#     bench/dispatchers.sh [CONTRACTS]     (default 6000; each contract has 4 timed emails)
#
# Imports CONTRACTS contracts that all end on 2027-06-30 into a fresh PostgreSQL database (the
# template), as bench/dispatch.sh does for SQLite: at 2027-05-02T12:00:00Z exactly the -60-day
# step of every contract is due, so CONTRACTS messages go out and none is superseded. Then, for
# each K in BENCH_DISPATCHERS: re-creates the run database from the template
# (`CREATE DATABASE ... TEMPLATE ...`, so every K starts from the same due reminders), starts
# one SMTP test server (scripts/smtp-test-server.py, Debian's python3-aiosmtpd, loopback, a
# free port), starts K `tickler dispatch --once --now 2027-05-02T12:00:00Z` processes at once
# and waits for all of them. Prints the wall time, messages/s, each process's share (from its
# "claimed N, sent N, ..." line), the CPU time of the dispatchers and of the SMTP server, and
# fails unless the server received exactly CONTRACTS messages with CONTRACTS distinct
# Message-IDs and the database holds CONTRACTS sent reminders.
#
# Environment: TICKLER_BIN (default target/release/tickler, from the repository root),
# TICKLER_BENCH_POSTGRES_URL (an existing database on the server, where CREATE DATABASE runs;
# default postgres://postgres@127.0.0.1:5432/postgres), BENCH_DISPATCHERS (default "1 2 3"),
# TICKLER_SEND_CONCURRENCY and TICKLER_BATCH_SIZE (passed to every dispatcher; unset, tickler's
# defaults apply), BENCH_TIMEOUT (seconds per command, default 1800).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CONTRACTS="${1:-6000}"
[[ "$CONTRACTS" =~ ^[1-9][0-9]*$ ]] || die "CONTRACTS must be a positive number, not \"$CONTRACTS\""
DISPATCHERS_LIST="${BENCH_DISPATCHERS:-1 2 3}"
for k in $DISPATCHERS_LIST; do
    [[ "$k" =~ ^[1-9][0-9]*$ ]] || die "BENCH_DISPATCHERS must list positive numbers, not \"$k\""
done
PG_ADMIN_URL="${TICKLER_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
END_DATE="2027-06-30"
NOW="2027-05-02T12:00:00Z"
check_bin
ensure_gnu_time
command -v psql >/dev/null || die "psql is missing (Debian's postgresql-client)"
ensure_aiosmtpd
timeout 30 psql -q -X -At "$PG_ADMIN_URL" -c 'SELECT 1' >/dev/null ||
    die "cannot reach PostgreSQL at $PG_ADMIN_URL (set TICKLER_BENCH_POSTGRES_URL)"

TMP="$(mktemp -d -t tickler-bench-dispatchers.XXXXXX)"
TEMPLATE_DB="tickler_bench_dispatchers_$$_template"
RUN_DB="tickler_bench_dispatchers_$$_run"
DISPATCHER_PIDS=()
psql_admin() {
    # client_min_messages: no NOTICE for DROP DATABASE IF EXISTS of a database not there yet.
    PGOPTIONS="-c client_min_messages=warning" timeout 300 psql -q -X -v ON_ERROR_STOP=1 -At "$PG_ADMIN_URL" "$@"
}
drop_databases() {
    local db
    for db in "$RUN_DB" "$TEMPLATE_DB"; do
        psql_admin -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
    done
}
cleanup() {
    local pid
    for pid in "${DISPATCHER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${DISPATCHER_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    stop_smtp
    drop_databases
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# db_url NAME: the admin URL with NAME as its database.
db_url() {
    python3 -c 'import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$PG_ADMIN_URL" "$1"
}
TEMPLATE_URL="$(db_url "$TEMPLATE_DB")"
RUN_URL="$(db_url "$RUN_DB")"

export TICKLER_MAIL_FROM="Tickler <tickler@firm.example>"
export TICKLER_OUTBOX="$TMP/outbox"
unset TICKLER_DATABASE_URL TICKLER_SMTP_URL
SEND_CONCURRENCY="${TICKLER_SEND_CONCURRENCY:-default}"
BATCH_SIZE="${TICKLER_BATCH_SIZE:-default}"

echo "binary: $TICKLER_BIN ($("$TICKLER_BIN" --version))"
echo "postgres: $(psql_admin -c 'SHOW server_version')"
echo "machine: nproc=$(nproc), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# One import into the template database; every run starts from a copy of it.
drop_databases
psql_admin -c "CREATE DATABASE \"$TEMPLATE_DB\"" >/dev/null
timeout "$BENCH_TIMEOUT" python3 "$BENCH_DIR/gen_contracts.py" "$CONTRACTS" --owner "$BENCH_OWNER" --end "$END_DATE" >"$TMP/contracts.csv"
TICKLER_DATABASE_URL="$TEMPLATE_URL" timeout 120 "$TICKLER_BIN" user add --email "$BENCH_OWNER" --name "Bench Owner" >/dev/null
measure import env TICKLER_DATABASE_URL="$TEMPLATE_URL" "$TICKLER_BIN" import contracts "$TMP/contracts.csv"
echo "import: $(grep -a '^imported ' "$TMP/import.err") in ${WALL_S}s"
NOW_MS="$(psql_admin -c "SELECT (extract(epoch FROM timestamptz '$NOW') * 1000)::bigint")"
DUE="$(timeout 60 psql -X -At "$TEMPLATE_URL" -c "SELECT count(*) FROM reminders WHERE status = 'scheduled' AND due_at <= $NOW_MS")"
echo "reminders: $(timeout 60 psql -X -At "$TEMPLATE_URL" -c "SELECT count(*) FROM reminders"), due at $NOW: $DUE"
[ "$DUE" = "$CONTRACTS" ] || die "expected $CONTRACTS reminders due at $NOW, found $DUE"

CLK_TCK="$(getconf CLK_TCK)"
# cpu_ticks PID: user + system CPU of a live process, in clock ticks (/proc/PID/stat fields
# 14 and 15; the command name in parentheses may hold spaces, so count after it).
cpu_ticks() {
    sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
# busy_ticks: "busy total" clock ticks of the whole machine, from /proc/stat.
busy_ticks() {
    awk '/^cpu / { idle = $5 + $6; total = 0; for (i = 2; i <= NF; i++) total += $i; print total - idle, total }' /proc/stat
}

# Message-IDs of the received messages: "<total> <distinct>".
count_message_ids() {
    "$PYTHON" - "$1" <<'EOF'
import email.parser, pathlib, sys
parser = email.parser.BytesHeaderParser()
ids = []
for path in pathlib.Path(sys.argv[1]).glob("*.eml"):
    with open(path, "rb") as f:
        ids.append((parser.parse(f).get("Message-ID") or "").strip())
missing = sum(1 for i in ids if not i)
print(len(ids), len(set(i for i in ids if i)), missing)
EOF
}

for k in $DISPATCHERS_LIST; do
    run="$TMP/run-k$k"
    mkdir -p "$run/mail"
    reset_start="$(now_s)"
    psql_admin -c "DROP DATABASE IF EXISTS \"$RUN_DB\" WITH (FORCE)" >/dev/null
    psql_admin -c "CREATE DATABASE \"$RUN_DB\" TEMPLATE \"$TEMPLATE_DB\"" >/dev/null
    reset_s="$(awk -v a="$reset_start" -v b="$(now_s)" 'BEGIN { printf "%.2f", b - a }')"
    start_smtp "$run/mail"
    smtp_before="$(cpu_ticks "$SMTP_PID")"
    read -r busy_before total_before < <(busy_ticks)

    start="$(now_s)"
    DISPATCHER_PIDS=()
    for i in $(seq 1 "$k"); do
        # `timeout` outermost: signalled (by the cleanup), it passes the signal on to its
        # whole process group, so no dispatcher outlives the script.
        env TICKLER_DATABASE_URL="$RUN_URL" \
            TICKLER_SMTP_URL="smtp://127.0.0.1:$SMTP_PORT?tls=none" \
            timeout "$BENCH_TIMEOUT" /usr/bin/time -v -o "$run/d$i.time" \
            "$TICKLER_BIN" dispatch --once --now "$NOW" \
            >"$run/d$i.out" 2>"$run/d$i.err" &
        DISPATCHER_PIDS+=("$!")
    done
    failed=0
    for i in $(seq 1 "$k"); do
        rc=0
        wait "${DISPATCHER_PIDS[$((i - 1))]}" || rc=$?
        if [ "$rc" -ne 0 ]; then
            echo "bench: dispatcher $i of $k failed (exit $rc):" >&2
            sed -n '1,40p' "$run/d$i.err" >&2
            failed=1
        fi
    done
    DISPATCHER_PIDS=()
    end="$(now_s)"
    read -r busy_after total_after < <(busy_ticks)
    smtp_after="$(cpu_ticks "$SMTP_PID")"
    stop_smtp
    [ "$failed" -eq 0 ] || die "k=$k: a dispatcher failed"

    wall_s="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')"
    split=""
    sent_total=0
    dispatcher_cpu=0
    for i in $(seq 1 "$k"); do
        summary="$(grep -a '^claimed ' "$run/d$i.err" || true)"
        [ -n "$summary" ] || die "k=$k: dispatcher $i printed no summary"
        echo "k=$k dispatcher $i: $summary"
        sent="$(sed -n 's/.* sent \([0-9]*\),.*/\1/p' <<<"$summary")"
        split="${split:+$split/}$sent"
        sent_total=$((sent_total + sent))
        dispatcher_cpu="$(awk -F': ' -v t="$dispatcher_cpu" '/User time|System time/ { t += $2 } END { printf "%.2f", t }' "$run/d$i.time")"
    done
    read -r received distinct no_id < <(count_message_ids "$run/mail")
    db_sent="$(timeout 60 psql -X -At "$RUN_URL" -c "SELECT count(*) FROM reminders WHERE status = 'sent'")"
    db_statuses="$(timeout 60 psql -X -At -F= -R, "$RUN_URL" -c "SELECT status, count(*) FROM reminders GROUP BY status ORDER BY status")"
    smtp_cpu_s="$(awk -v a="$smtp_before" -v b="$smtp_after" -v t="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / t }')"
    smtp_cpu_pct="$(awk -v c="$smtp_cpu_s" -v w="$wall_s" 'BEGIN { printf "%.0f", 100 * c / w }')"
    machine_busy_pct="$(awk -v b0="$busy_before" -v b1="$busy_after" -v t0="$total_before" -v t1="$total_after" \
        'BEGIN { if (t1 > t0) printf "%.0f", 100 * (b1 - b0) / (t1 - t0); else print "?" }')"
    echo "k=$k: database reset from the template in ${reset_s}s; reminders after the run: $db_statuses"
    echo "k=$k: received $received messages, $distinct distinct Message-IDs, $no_id without one"
    printf 'RESULT dispatchers k=%s messages=%s wall_s=%s messages_per_s=%s split=%s send_concurrency=%s batch_size=%s received=%s distinct_message_ids=%s db_sent=%s dispatchers_cpu_s=%s smtp_server_cpu_s=%s smtp_server_cpu_pct=%s machine_busy_pct=%s loadavg="%s"\n' \
        "$k" "$sent_total" "$wall_s" "$(per_second "$received" "$wall_s")" "$split" "$SEND_CONCURRENCY" "$BATCH_SIZE" \
        "$received" "$distinct" "$db_sent" "$dispatcher_cpu" "$smtp_cpu_s" "$smtp_cpu_pct" "$machine_busy_pct" \
        "$(cut -d' ' -f1-3 /proc/loadavg)"
    if [ "$received" != "$CONTRACTS" ] || [ "$distinct" != "$CONTRACTS" ] || [ "$sent_total" != "$CONTRACTS" ] || [ "$db_sent" != "$CONTRACTS" ]; then
        die "k=$k: expected $CONTRACTS messages sent, received, distinct and recorded; got sent=$sent_total received=$received distinct=$distinct db_sent=$db_sent"
    fi
    rm -rf "$run"
done
