#!/usr/bin/env bash
# The morning digests at scale: one dispatch run that writes and sends every owner's digest.
#
#     bench/digest.sh [ROWS] [OWNERS]        (default 100000 contracts, 1000 owners)
#
# Imports ROWS generated contracts (gen_contracts.py, as bench/import.sh does) into a fresh
# SQLite database, adds OWNERS-1 more salespeople with sqlite3 and spreads the contracts and
# their tasks over all OWNERS. Then, with mail going to an outbox
# folder:
#   1. `dispatch --once --now D 07:00Z` sends what fell due since the import (no digest yet:
#      everyone is on the organisation's zone, UTC, and takes it at 08:00);
#   2. `dispatch --once --now D 08:00Z` writes and sends the digests: the figure;
#   3. `dispatch --once --now D 08:01Z`: a pass once every digest is decided (what every
#      dispatcher pass of `serve` costs the rest of the day);
#   4. `tickler preview --from D+1 --to D+1 --json`, when the binary has it: tomorrow's digests
#      (and emails) written in advance.
# D is tomorrow (UTC). Prints RESULT lines; checks that every owner with something to say got
# exactly one digest.
#
# Environment: TICKLER_BIN (default target/release/tickler), BENCH_TIMEOUT, BENCH_DB: an
# existing database of generated contracts to copy instead of importing ROWS (a million
# contracts take long to import; bench/multiply_db.py makes one from a smaller import).
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROWS="${1:-100000}"
OWNERS="${2:-1000}"
[[ "$ROWS" =~ ^[1-9][0-9]*$ ]] || die "ROWS must be a positive number, not \"$ROWS\""
[[ "$OWNERS" =~ ^[1-9][0-9]*$ ]] || die "OWNERS must be a positive number, not \"$OWNERS\""
check_bin
ensure_gnu_time
command -v sqlite3 >/dev/null || die "sqlite3 is missing (Debian's sqlite3 package)"

TMP="$(mktemp -d -t tickler-bench-digest.XXXXXX)"
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

export TICKLER_MAIL_FROM="Tickler <tickler@firm.example>"
export TICKLER_OUTBOX="$TMP/outbox"
unset TICKLER_DATABASE_URL TICKLER_SMTP_URL
DB="$TMP/bench.db"
URL="sqlite://$DB"
tickler() { timeout "$BENCH_TIMEOUT" "$TICKLER_BIN" --database "$URL" "$@"; }
# The same, for `measure`, which runs its own timeout.
TICKLER=("$TICKLER_BIN" --database "$URL")

echo "binary: $TICKLER_BIN ($("$TICKLER_BIN" --version))"
if [ -n "${BENCH_DB:-}" ]; then
    cp "$BENCH_DB" "$DB"
    tickler migrate >/dev/null
    sqlite3 "$DB" 'DELETE FROM users WHERE id NOT IN (SELECT MIN(id) FROM users)'
    ROWS="$(sqlite3 "$DB" 'SELECT count(*) FROM contracts')"
    echo "copied $BENCH_DB: $ROWS contracts"
else
    python3 "$BENCH_DIR/gen_contracts.py" "$ROWS" --owner "$BENCH_OWNER" >"$TMP/contracts.csv"
    tickler user add --email "$BENCH_OWNER" --name "Owner 1" >/dev/null
    measure import "${TICKLER[@]}" import contracts "$TMP/contracts.csv"
    echo "imported $ROWS contracts in ${WALL_S}s"
fi

sqlite3 "$DB" <<SQL
WITH RECURSIVE n(i) AS (SELECT 2 UNION ALL SELECT i + 1 FROM n WHERE i < $OWNERS)
INSERT INTO users (email, name, role, created_at)
SELECT 'owner' || i || '@firm.example', 'Owner ' || i, 'sales', 0 FROM n;
-- Not id % OWNERS alone: a multiplied database repeats its contracts every N ids.
UPDATE contracts SET owner_id = (SELECT MIN(id) FROM users) + ((id + id / 997) % $OWNERS);
UPDATE tasks SET owner_id = (SELECT owner_id FROM contracts c WHERE c.id = tasks.contract_id);
SQL
users="$(sqlite3 "$DB" 'SELECT count(*) FROM users')"
echo "$users owners"

DAY="$(date -u -d tomorrow +%F)"
measure catch-up "${TICKLER[@]}" dispatch --once --now "${DAY}T07:00:00Z"
echo "07:00: $(tail -n 1 "$TMP/catch-up.err") in ${WALL_S}s"

measure digests "${TICKLER[@]}" dispatch --once --now "${DAY}T08:00:00Z"
digest_wall="$WALL_S"
digest_rss="$PEAK_RSS_KB"
digest_cpu="$CPU_S"
written="$(sqlite3 "$DB" "SELECT count(*) FROM digests WHERE day = '$DAY' AND reminder_id IS NOT NULL")"
empty="$(sqlite3 "$DB" "SELECT count(*) FROM digests WHERE day = '$DAY' AND reminder_id IS NULL")"
# The day's only: a copied database may hold digests of days it was served on.
sent="$(sqlite3 "$DB" "SELECT count(*) FROM digests d JOIN reminders r ON r.id = d.reminder_id WHERE d.day = '$DAY' AND r.status = 'sent'")"
[ "$((written + empty))" = "$users" ] || die "decided $((written + empty)) digests for $users owners"
[ "$sent" = "$written" ] || die "wrote $written digests but sent $sent"
printf 'RESULT digest_run contracts=%s owners=%s digests_sent=%s empty=%s wall_s=%s cpu_s=%s peak_rss_mib=%s\n' \
    "$ROWS" "$users" "$sent" "$empty" "$digest_wall" "$digest_cpu" "$(mib "$digest_rss")"

measure decided "${TICKLER[@]}" dispatch --once --now "${DAY}T08:01:00Z"
printf 'RESULT digest_pass_after contracts=%s owners=%s wall_s=%s peak_rss_mib=%s\n' \
    "$ROWS" "$users" "$WALL_S" "$(mib "$PEAK_RSS_KB")"

if "$TICKLER_BIN" preview --help >/dev/null 2>&1; then
    NEXT="$(date -u -d '2 days' +%F)"
    measure preview "${TICKLER[@]}" preview --from "$NEXT" --to "$NEXT" --json
    items="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$TMP/preview.out")"
    digests="$(python3 -c 'import json,sys; print(sum(1 for i in json.load(open(sys.argv[1])) if i["kind"] == "digest"))' "$TMP/preview.out")"
    printf 'RESULT preview_day contracts=%s owners=%s items=%s digests=%s wall_s=%s peak_rss_mib=%s\n' \
        "$ROWS" "$users" "$items" "$digests" "$WALL_S" "$(mib "$PEAK_RSS_KB")"
fi
