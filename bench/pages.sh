#!/usr/bin/env bash
# Response times of the web app's pages with many contracts.
#
#     bench/pages.sh [ROWS]        (default 100000)
#
# Imports ROWS generated contracts (gen_contracts.py, as bench/import.sh does) into a fresh
# SQLite database with the release binary, adds an admin with
# `tickler user add --role admin --password-stdin`, starts `tickler serve` on a free loopback
# port, logs in with curl (GET /login for the `tickler_pre` cookie and the form token, then
# POST /login), and times each page with curl (`%{time_total}`, the median of 5 after one
# warm-up request, whose own time is printed as "first": the pipeline page keeps figures that
# are slow to count for a minute, so its first request is the one that counts them). A page
# that answers 404 (not built yet) prints "missing".
#
# Environment: TICKLER_BIN (default target/release/tickler), BENCH_TIMEOUT.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROWS="${1:-100000}"
[[ "$ROWS" =~ ^[1-9][0-9]*$ ]] || die "ROWS must be a positive number, not \"$ROWS\""
check_bin
command -v curl >/dev/null || die "curl is missing"
command -v sqlite3 >/dev/null || die "sqlite3 is missing (Debian's sqlite3 package): it picks the ids to visit"

TMP="$(mktemp -d -t tickler-bench-pages.XXXXXX)"
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
DB="$TMP/bench.db"
URL="sqlite://$DB"
ADMIN="admin@firm.example"
PASSWORD="bench password, long enough"

echo "binary: $TICKLER_BIN ($("$TICKLER_BIN" --version))"
timeout "$BENCH_TIMEOUT" python3 "$BENCH_DIR/gen_contracts.py" "$ROWS" --owner "$BENCH_OWNER" >"$TMP/contracts.csv"
timeout 120 "$TICKLER_BIN" --database "$URL" user add --email "$BENCH_OWNER" --name "Bench Owner" >/dev/null
start="$(now_s)"
timeout "$BENCH_TIMEOUT" "$TICKLER_BIN" --database "$URL" import contracts "$TMP/contracts.csv" >"$TMP/import.out" 2>"$TMP/import.err" \
    || { sed -n '1,20p' "$TMP/import.err" >&2; die "the import failed"; }
echo "imported $ROWS contracts in $(awk -v a="$start" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }') s"
printf '%s\n' "$PASSWORD" | timeout 120 "$TICKLER_BIN" --database "$URL" user add \
    --email "$ADMIN" --name "Bench Admin" --role admin --password-stdin >/dev/null

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
"$TICKLER_BIN" --database "$URL" serve --listen "127.0.0.1:$PORT" >"$TMP/serve.out" 2>"$TMP/serve.err" &
SERVER_PID=$!
for _ in $(seq 1 100); do
    if curl -fsS -o /dev/null "$BASE/healthz" 2>/dev/null; then
        break
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { sed -n '1,20p' "$TMP/serve.err" >&2; die "tickler serve stopped"; }
    sleep 0.1
done
curl -fsS -o /dev/null "$BASE/healthz" || die "tickler serve did not answer on $BASE"

JAR="$TMP/cookies"
login_page="$(curl -fsS -c "$JAR" -b "$JAR" "$BASE/login")"
csrf="$(sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' <<<"$login_page" | head -n 1)"
[ -n "$csrf" ] || die "no form token on /login"
code="$(curl -sS -o /dev/null -w '%{http_code}' -c "$JAR" -b "$JAR" -H "Origin: $BASE" \
    --data-urlencode "csrf=$csrf" --data-urlencode "email=$ADMIN" \
    --data-urlencode "password=$PASSWORD" --data-urlencode "next=/" "$BASE/login")"
[ "$code" = "303" ] || die "login answered $code, not 303"
grep -q tickler_session "$JAR" || die "no session cookie after login"

# Rows to visit, read from the database: a contract, a customer, and the contract just
# before the 50th page (and the 1,800th) in title order, the keyset cursor of that page.
q() { sqlite3 "$DB" "$1"; }
owner_id="$(q "SELECT id FROM users WHERE email = '$BENCH_OWNER'")"
contract_id="$(q "SELECT id FROM contracts ORDER BY id LIMIT 1 OFFSET $((ROWS / 2))")"
customer_id="$(q "SELECT customer_id FROM contracts WHERE id = $contract_id")"
deep_offset=$((50 * 50 - 1))
deeper_offset=$((ROWS * 9 / 10))
after_50="$(q "SELECT id FROM contracts ORDER BY title, id LIMIT 1 OFFSET $deep_offset")"
after_deep="$(q "SELECT id FROM contracts ORDER BY title, id LIMIT 1 OFFSET $deeper_offset")"

# time_page PATH: median of 5 timed GETs after one warm-up; "missing" for a 404.
time_page() {
    local path="$1" code times=() t first
    read -r code first < <(curl -sS -o "$TMP/page.html" -w '%{http_code} %{time_total}\n' -b "$JAR" "$BASE$path")
    if [ "$code" = "404" ]; then
        printf '%-55s missing\n' "$path"
        printf 'RESULT page path=%s status=missing\n' "$path" >>"$TMP/results"
        return
    fi
    [ "$code" = "200" ] || die "GET $path answered $code"
    for _ in 1 2 3 4 5; do
        t="$(curl -sS -o /dev/null -w '%{time_total}' -b "$JAR" "$BASE$path")"
        times+=("$t")
    done
    local median
    median="$(printf '%s\n' "${times[@]}" | sort -g | sed -n 3p)"
    local ms first_ms
    ms="$(awk -v s="$median" 'BEGIN { printf "%.1f", s * 1000 }')"
    first_ms="$(awk -v s="$first" 'BEGIN { printf "%.1f", s * 1000 }')"
    printf '%-55s %7s ms  (first %s ms, %s bytes)\n' "$path" "$ms" "$first_ms" "$(stat -c %s "$TMP/page.html")"
    printf 'RESULT page path=%s median_ms=%s first_ms=%s\n' "$path" "$ms" "$first_ms" >>"$TMP/results"
}

echo "timing pages (median of 5 after a warm-up) at $ROWS contracts:"
for path in \
    "/" \
    "/contracts" \
    "/contracts?q=HVAC" \
    "/contracts?q=Customer+1233+Ltd" \
    "/contracts?expiring=60" \
    "/contracts?owner=me" \
    "/contracts?owner=$owner_id" \
    "/contracts?status=active&owner=$owner_id&sort=title" \
    "/contracts?sort=title&after=$after_50" \
    "/contracts?sort=title&after=$after_deep" \
    "/contracts?sort=customer&dir=desc" \
    "/contracts/$contract_id" \
    "/customers" \
    "/customers?q=customer-42%40" \
    "/customers/$customer_id" \
    "/review" \
    "/sent" \
    "/pipeline" \
    "/pipeline?owner=$owner_id" \
    "/pipeline/expiring.csv" \
    "/agenda" \
    "/agenda?view=week" \
    "/agenda?date=2027-06-15" \
    "/agenda?date=2027-06-15&owner=$owner_id" \
    "/agenda?view=week&date=2027-06-15"; do
    time_page "$path"
done
cat "$TMP/results"
