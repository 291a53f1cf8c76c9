#!/usr/bin/env bash
# Whole-process benchmark of `tickler backup` and `tickler restore` on SQLite.
#
#     bench/backup.sh [ROWS] [FACTOR]      (default 100000 1)
#
# Imports ROWS contracts (gen_contracts.py) into a fresh SQLite database, grows it FACTOR
# times with multiply_db.py (so 100000 10 measures a million contracts without a million-row
# import), then times:
#   - `tickler backup` with nothing else running;
#   - `tickler backup` while `serve` runs, and a `tickler customer add` started during that
#     backup (a write must not wait for the copy);
#   - `tickler restore` of the backup into a new database file;
#   - `tickler export all` and `tickler import all` into another new SQLite file.
# Prints RESULT lines with wall time, peak RSS and sizes.
#
# Environment: TICKLER_BIN (default target/release/tickler), BENCH_TIMEOUT (seconds per
# command, default 1800).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROWS="${1:-100000}"
FACTOR="${2:-1}"
[[ "$ROWS" =~ ^[1-9][0-9]*$ ]] || die "ROWS must be a positive number, not \"$ROWS\""
[[ "$FACTOR" =~ ^[1-9][0-9]*$ ]] || die "FACTOR must be a positive number, not \"$FACTOR\""
check_bin
ensure_gnu_time
command -v sqlite3 >/dev/null || apt-get install -y -q sqlite3 >/dev/null 2>&1 || true

TMP="$(mktemp -d -t tickler-bench-backup.XXXXXX)"
SERVE_PID=""
cleanup() {
    if [ -n "$SERVE_PID" ]; then
        kill -TERM "$SERVE_PID" 2>/dev/null || true
        wait "$SERVE_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export TICKLER_MAIL_FROM="Tickler <tickler@firm.example>"
export TICKLER_OUTBOX="$TMP/outbox"
export TICKLER_LOG=warn
unset TICKLER_DATABASE_URL TICKLER_SMTP_URL TICKLER_BACKUP_DIR

DB="$TMP/tickler.db"
URL="sqlite://$DB"
echo "binary: $TICKLER_BIN ($("$TICKLER_BIN" --version))"
timeout "$BENCH_TIMEOUT" python3 "$BENCH_DIR/gen_contracts.py" "$ROWS" --owner "$BENCH_OWNER" >"$TMP/contracts.csv"
timeout 120 "$TICKLER_BIN" --database "$URL" user add --email "$BENCH_OWNER" --name "Bench Owner" >/dev/null
measure import "$TICKLER_BIN" --database "$URL" import contracts "$TMP/contracts.csv"
echo "imported $ROWS contracts in ${WALL_S}s"
if [ "$FACTOR" -gt 1 ]; then
    start="$(now_s)"
    timeout "$BENCH_TIMEOUT" python3 "$BENCH_DIR/multiply_db.py" "$DB" "$FACTOR" >/dev/null
    echo "multiplied by $FACTOR in $(awk -v a="$start" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }')s"
fi
CONTRACTS=$((ROWS * FACTOR))
contracts_in_db="$(sqlite3 "$DB" 'SELECT count(*) FROM contracts')"
reminders_in_db="$(sqlite3 "$DB" 'SELECT count(*) FROM reminders')"
[ "$contracts_in_db" = "$CONTRACTS" ] || die "the database holds $contracts_in_db contracts, expected $CONTRACTS"
db_size="$(sqlite_bytes "$DB")"

# 1. Nothing else running.
measure backup-idle "$TICKLER_BIN" --database "$URL" backup "$TMP/idle.db"
printf 'RESULT backup contracts=%s reminders=%s db_mib=%s backup_mib=%s wall_s=%s peak_rss_mib=%s while=idle\n' \
    "$CONTRACTS" "$reminders_in_db" "$(to_mib "$db_size")" "$(to_mib "$(stat -c %s "$TMP/idle.db")")" \
    "$WALL_S" "$(mib "$PEAK_RSS_KB")"

# 2. While serve runs, with a write started during the copy.
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$TICKLER_BIN" --database "$URL" serve --listen "127.0.0.1:$PORT" >"$TMP/serve.out" 2>"$TMP/serve.err" &
SERVE_PID=$!
for _ in $(seq 1 600); do
    curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && break
    sleep 0.1
done
curl -fs "http://127.0.0.1:$PORT/readyz" >/dev/null || die "serve did not become ready (see $TMP/serve.err)"
( sleep 0.5
  write_start="$(now_s)"
  timeout 600 "$TICKLER_BIN" --database "$URL" customer add --name "Written during the backup" \
      --email "during@backup.example" >/dev/null
  awk -v a="$write_start" -v b="$(now_s)" 'BEGIN { printf "%.3f", b - a }' >"$TMP/write.s" ) &
WRITER=$!
measure backup-serving "$TICKLER_BIN" --database "$URL" backup "$TMP/serving.db"
wait "$WRITER"
printf 'RESULT backup contracts=%s db_mib=%s backup_mib=%s wall_s=%s peak_rss_mib=%s while=serve write_during_backup_s=%s\n' \
    "$CONTRACTS" "$(to_mib "$(sqlite_bytes "$DB")")" "$(to_mib "$(stat -c %s "$TMP/serving.db")")" \
    "$WALL_S" "$(mib "$PEAK_RSS_KB")" "$(cat "$TMP/write.s")"
kill -TERM "$SERVE_PID"
wait "$SERVE_PID" || true
SERVE_PID=""

# 3. Restore into a new file.
measure restore "$TICKLER_BIN" --database "sqlite://$TMP/restored.db" restore "$TMP/idle.db"
restored="$(sqlite3 "$TMP/restored.db" 'SELECT count(*) FROM contracts')"
[ "$restored" = "$CONTRACTS" ] || die "the restored database holds $restored contracts, expected $CONTRACTS"
printf 'RESULT restore contracts=%s wall_s=%s peak_rss_mib=%s\n' "$CONTRACTS" "$WALL_S" "$(mib "$PEAK_RSS_KB")"

# 4. The whole installation as CSV, and back into a new SQLite file.
measure export-all "$TICKLER_BIN" --database "sqlite://$TMP/restored.db" export all --output "$TMP/all"
export_s="$WALL_S"
export_rss="$PEAK_RSS_KB"
measure import-all "$TICKLER_BIN" --database "sqlite://$TMP/moved.db" import all "$TMP/all"
printf 'RESULT export_all contracts=%s csv_mib=%s export_s=%s export_rss_mib=%s import_s=%s import_rss_mib=%s\n' \
    "$CONTRACTS" "$(to_mib "$(du -sb "$TMP/all" | cut -f1)")" "$export_s" "$(mib "$export_rss")" \
    "$WALL_S" "$(mib "$PEAK_RSS_KB")"
