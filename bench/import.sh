#!/usr/bin/env bash
# Whole-process benchmark of `tickler import contracts FILE`.
#
#     bench/import.sh [ROWS]        (default 100000)
#
# Generates a contracts CSV of ROWS rows (about ROWS/4 customers, languages en/ja/el, four
# time zones, end dates 2027-2029, one owner) into a temporary folder, adds the owner with
# `tickler user add`, then times the import into a fresh SQLite database and prints wall time,
# rows/s, peak RSS and database size. With TICKLER_BENCH_POSTGRES_URL set (a URL of an
# existing database on the server, e.g. postgres://postgres@127.0.0.1/postgres), it does the
# same against a fresh PostgreSQL database created with psql and dropped afterwards.
#
# Environment: TICKLER_BIN (default target/release/tickler, from the repository root),
# BENCH_TIMEOUT (seconds per command, default 1800), TICKLER_BENCH_POSTGRES_URL.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROWS="${1:-100000}"
[[ "$ROWS" =~ ^[1-9][0-9]*$ ]] || die "ROWS must be a positive number, not \"$ROWS\""
check_bin
ensure_gnu_time

TMP="$(mktemp -d -t tickler-bench-import.XXXXXX)"
PG_ADMIN_URL="${TICKLER_BENCH_POSTGRES_URL:-}"
PG_DB=""
cleanup() {
    if [ -n "$PG_DB" ]; then
        timeout 60 psql -q -X "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$PG_DB\"" >/dev/null 2>&1 || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The settings an operator would have; none of them reach the network during an import.
export TICKLER_MAIL_FROM="Tickler <tickler@firm.example>"
export TICKLER_OUTBOX="$TMP/outbox"
unset TICKLER_DATABASE_URL TICKLER_SMTP_URL

CSV="$TMP/contracts.csv"
start="$(now_s)"
timeout "$BENCH_TIMEOUT" python3 "$BENCH_DIR/gen_contracts.py" "$ROWS" --owner "$BENCH_OWNER" >"$CSV"
gen_s="$(awk -v a="$start" -v b="$(now_s)" 'BEGIN { printf "%.2f", b - a }')"
echo "generated $ROWS rows ($(awk 'END { print NR - 1 }' "$CSV") data lines, $(stat -c %s "$CSV") bytes) in ${gen_s}s"
echo "binary: $TICKLER_BIN ($("$TICKLER_BIN" --version))"

# import_into LABEL DATABASE_URL: adds the owner, times the import, checks its report.
import_into() {
    local label="$1" url="$2"
    timeout 120 "$TICKLER_BIN" --database "$url" user add --email "$BENCH_OWNER" --name "Bench Owner" >/dev/null
    measure "import-$label" "$TICKLER_BIN" --database "$url" import contracts "$CSV"
    local report
    report="$(grep -a '^imported ' "$TMP/import-$label.err" || true)"
    [ -n "$report" ] || die "$label: the import printed no report (see above)"
    local imported
    imported="$(sed -n 's/^imported \([0-9]*\) contracts.*/\1/p' <<<"$report")"
    [ "$imported" = "$ROWS" ] || die "$label: imported $imported contracts, expected $ROWS: $report"
    echo "$label: $report"
}

# SQLite
DB="$TMP/bench.db"
import_into sqlite "sqlite://$DB"
sqlite_wall="$WALL_S"
sqlite_rss="$PEAK_RSS_KB"
sqlite_cpu="$CPU_S"
sqlite_size="$(sqlite_bytes "$DB")"
# The main file and the write-ahead log apart: a one-transaction import can leave a large WAL.
sqlite_main="$(stat -c %s "$DB")"
sqlite_wal=0
if [ -f "$DB-wal" ]; then
    sqlite_wal="$(stat -c %s "$DB-wal")"
fi
reminders="?"
if command -v sqlite3 >/dev/null; then
    reminders="$(sqlite3 "$DB" 'SELECT count(*) FROM reminders')"
fi
printf 'RESULT import backend=sqlite rows=%s wall_s=%s cpu_s=%s rows_per_s=%s peak_rss_mib=%s db_mib=%s main_mib=%s wal_mib=%s reminders=%s\n' \
    "$ROWS" "$sqlite_wall" "$sqlite_cpu" "$(per_second "$ROWS" "$sqlite_wall")" "$(mib "$sqlite_rss")" \
    "$(to_mib "$sqlite_size")" "$(to_mib "$sqlite_main")" "$(to_mib "$sqlite_wal")" "$reminders"

# PostgreSQL, when asked for
if [ -n "$PG_ADMIN_URL" ]; then
    command -v psql >/dev/null || die "TICKLER_BENCH_POSTGRES_URL is set but psql is missing"
    PG_DB="tickler_bench_$$_$(date +%s)"
    timeout 60 psql -q -X -v ON_ERROR_STOP=1 "$PG_ADMIN_URL" -c "CREATE DATABASE \"$PG_DB\"" >/dev/null
    # The same URL with the new database's name as its path.
    PG_URL="$(python3 -c 'import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$PG_ADMIN_URL" "$PG_DB")"
    import_into postgres "$PG_URL"
    pg_size="$(timeout 60 psql -X -At "$PG_ADMIN_URL" -c "SELECT pg_database_size('$PG_DB')")"
    pg_reminders="$(timeout 60 psql -X -At "$PG_URL" -c 'SELECT count(*) FROM reminders')"
    printf 'RESULT import backend=postgres rows=%s wall_s=%s cpu_s=%s rows_per_s=%s peak_rss_mib=%s db_mib=%s reminders=%s\n' \
        "$ROWS" "$WALL_S" "$CPU_S" "$(per_second "$ROWS" "$WALL_S")" "$(mib "$PEAK_RSS_KB")" \
        "$(to_mib "$pg_size")" "$pg_reminders"
fi
