#!/usr/bin/env bash
# Every figure of issue 12 in one run, with the peers measured in the same run, as one table.
#
#     bench/run.sh [--quick]
#
# Builds the release binary (and runs tickler-documents' PDF bench), installs the peers into
# a scratch folder (graphile-worker from npm, pgqueuer from PyPI into a venv; bench/.scratch,
# not committed), generates the data and prints one table: figure, unit, Tickler, peer, ratio, target, met. A figure the harness
# cannot produce yet says "not measured"; nothing is estimated.
#
# --quick: small sizes, within 3 minutes. Without it: imports of 10,000, 100,000 and
# 1,000,000 contracts and 100,000 due messages (about 30 minutes and more while Tickler is
# slower than its targets).
#
# Environment: TICKLER_BIN (a binary to measure instead of building one; default: cargo build
# --release -p tickler into CARGO_TARGET_DIR or target/), TICKLER_BENCH_POSTGRES_URL (where
# the scratch databases are created and dropped; default
# postgres://postgres@127.0.0.1:5432/postgres), BENCH_SCRATCH (the peers' folder),
# BENCH_IMPORT_SIZES, BENCH_PG_IMPORT_SIZE, BENCH_DUE, BENCH_SMTP_MESSAGES,
# BENCH_WEB_REQUESTS, BENCH_BURST, BENCH_SALES (to change the sizes), BENCH_TIMEOUT (seconds per command).
set -euo pipefail

GIVEN_BIN="${TICKLER_BIN:-}"
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

QUICK=0
case "${1:-}" in
    --quick) QUICK=1 ;;
    "") ;;
    *) die "usage: bench/run.sh [--quick]" ;;
esac
if [ "$QUICK" = 1 ]; then
    IMPORT_SIZES="${BENCH_IMPORT_SIZES:-2000}"
    PG_IMPORT_SIZE="${BENCH_PG_IMPORT_SIZE:-2000}"
    DUE="${BENCH_DUE:-2000}"
    SMTP_MESSAGES="${BENCH_SMTP_MESSAGES:-150}"
    WEB_REQUESTS="${BENCH_WEB_REQUESTS:-20}"
    BURST="${BENCH_BURST:-1000}"
    SALES="${BENCH_SALES:-2000}"
    PDF_INVOICES=50
else
    IMPORT_SIZES="${BENCH_IMPORT_SIZES:-10000 100000 1000000}"
    PG_IMPORT_SIZE="${BENCH_PG_IMPORT_SIZE:-100000}"
    DUE="${BENCH_DUE:-100000}"
    SMTP_MESSAGES="${BENCH_SMTP_MESSAGES:-2000}"
    WEB_REQUESTS="${BENCH_WEB_REQUESTS:-50}"
    BURST="${BENCH_BURST:-10000}"
    SALES="${BENCH_SALES:-100000}"
    PDF_INVOICES=200
fi
for n in $IMPORT_SIZES $PG_IMPORT_SIZE $DUE $SMTP_MESSAGES $WEB_REQUESTS $BURST $SALES; do
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "sizes must be positive numbers, not \"$n\""
done
LARGEST="$(tr ' ' '\n' <<<"$IMPORT_SIZES" | sort -n | tail -n 1)"
PG_ADMIN_URL="${TICKLER_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
SCRATCH="${BENCH_SCRATCH:-$BENCH_DIR/.scratch}"
# The instant at which exactly one step (-60 days) of every contract ending 2027-06-30 is due:
# see bench/README.md, dispatch.sh.
DUE_END="2027-06-30"
DUE_NOW="2027-05-02T12:00:00Z"
# Contracts for the footprint and the pages end from 2031 on: nothing is due while `serve` runs.
FAR_END="2031-01-01"
# Every recurring sale starts on SALES_START; at SALES_NOW its first period is due in every
# customer's zone (09:00 in New York is 14:00Z) and its second is not: see gen_contracts.py.
SALES_START="2027-01-01"
SALES_NOW="2027-01-01T15:00:00Z"

command -v psql >/dev/null || die "psql is missing (Debian's postgresql-client)"
command -v sqlite3 >/dev/null || die "sqlite3 is missing (Debian's sqlite3)"
command -v curl >/dev/null || die "curl is missing"
ensure_gnu_time
ensure_aiosmtpd

# Files of the run: databases that are read back on disk, the dispatch measurements on a tmpfs
# (so that SQLite's fsyncs cost nothing there and the figure is Tickler's own work).
TMP="$(mktemp -d -t tickler-bench-run.XXXXXX)"
SHM="$(mktemp -d /dev/shm/tickler-bench-run.XXXXXX)"
PG_DBS=()
SERVER_PID=""
cleanup() {
    stop_smtp
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    local db
    for db in "${PG_DBS[@]}"; do
        timeout 60 psql -q -X "$PG_ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rm -rf "$TMP" "$SHM"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export TICKLER_MAIL_FROM="Tickler <tickler@firm.example>"
export TICKLER_OUTBOX="$SHM/outbox"
unset TICKLER_DATABASE_URL TICKLER_SMTP_URL TICKLER_SEND_CONCURRENCY

say() {
    echo "bench: $*" >&2
}

# --- The binary --------------------------------------------------------------------------

if [ -n "$GIVEN_BIN" ]; then
    check_bin
else
    say "building the release binary (cargo build --release -p tickler)"
    (cd "$REPO" && cargo build --release -q -p tickler) || die "the release build failed"
    TICKLER_BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/tickler"
    check_bin
fi
say "binary: $TICKLER_BIN ($("$TICKLER_BIN" --version))"

# --- The peers, installed into the scratch folder ----------------------------------------

GRAPHILE_VERSION="0.17.3"
PGQUEUER_VERSION="1.6.0"
HAVE_GRAPHILE=0
HAVE_PGQUEUER=0
mkdir -p "$SCRATCH"
if ! command -v npm >/dev/null; then
    say "installing Debian's nodejs and npm for graphile-worker"
    apt-get install -y -qq nodejs npm >/dev/null 2>&1 || say "apt-get install nodejs npm failed"
fi
if [ -f "$SCRATCH/node_modules/graphile-worker/package.json" ] \
    || timeout 600 npm install --prefix "$SCRATCH" --no-audit --no-fund --silent \
        "graphile-worker@$GRAPHILE_VERSION" >"$SCRATCH/npm.log" 2>&1; then
    HAVE_GRAPHILE=1
else
    say "npm install graphile-worker failed (see $SCRATCH/npm.log): its figures are not measured"
fi
if [ -x "$SCRATCH/venv/bin/python" ] && "$SCRATCH/venv/bin/python" -c "import pgqueuer, asyncpg" 2>/dev/null; then
    HAVE_PGQUEUER=1
elif "$PYTHON" -m venv --system-site-packages "$SCRATCH/venv" >"$SCRATCH/venv.log" 2>&1 \
    && timeout 600 "$SCRATCH/venv/bin/pip" install -q "pgqueuer==$PGQUEUER_VERSION" asyncpg >>"$SCRATCH/venv.log" 2>&1; then
    HAVE_PGQUEUER=1
else
    say "installing pgqueuer into $SCRATCH/venv failed (see $SCRATCH/venv.log): its figures are not measured"
fi

# --- The table ----------------------------------------------------------------------------

TABLE="$TMP/table.tsv"
printf 'figure\tunit\tTickler\tpeer\tratio\ttarget\tmet\n' >"$TABLE"

# higher FIGURE UNIT VALUE PEER_NAME PEER_VALUE MIN MIN_RATIO TARGET: a rate, met when VALUE >=
# MIN and VALUE / PEER_VALUE >= MIN_RATIO ("-" for no bound; with neither, a figure for
# reference, met "-"). An empty value is "not measured".
higher() {
    local figure="$1" unit="$2" value="$3" peer_name="$4" peer="$5" min="$6" min_ratio="$7" target="$8"
    local ratio="-" met="not measured" peer_text="-"
    [ "$peer_name" != "-" ] && peer_text="$peer_name ${peer:-not measured}"
    if [ -n "$value" ]; then
        met="$(awk -v v="$value" -v m="$min" -v r="$min_ratio" \
            'BEGIN { print (m == "-" && r == "-") ? "-" : (m == "-" || v >= m) ? "yes" : "no" }')"
        if [ -n "$peer" ] && [ "$peer_name" != "-" ]; then
            ratio="$(awk -v v="$value" -v p="$peer" 'BEGIN { printf "%.2f", (p > 0 ? v / p : 0) }')"
            if [ "$min_ratio" != "-" ] && awk -v r="$ratio" -v m="$min_ratio" 'BEGIN { exit !(r < m) }'; then
                met="no"
            fi
        elif [ "$min_ratio" != "-" ]; then
            met="$met (no peer)"
        fi
    fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$figure" "$unit" "${value:-not measured}" "$peer_text" "$ratio" "$target" "$met" >>"$TABLE"
}

# lower FIGURE UNIT VALUE MAX TARGET: a time or a size, met when VALUE <= MAX.
lower() {
    local figure="$1" unit="$2" value="$3" max="$4" target="$5" met="not measured"
    if [ -n "$value" ]; then
        met="$(awk -v v="$value" -v m="$max" 'BEGIN { print v <= m ? "yes" : "no" }')"
    fi
    printf '%s\t%s\t%s\t-\t-\t%s\t%s\n' "$figure" "$unit" "${value:-not measured}" "$target" "$met" >>"$TABLE"
}

# result_field FILE KEY: the value of KEY=... on the RESULT line of FILE.
result_field() {
    sed -n "s/^RESULT .*\b$2=\([^ ]*\).*/\1/p" "$1" | tail -n 1
}

# --- Helpers ------------------------------------------------------------------------------

# new_pg_db NAME: creates a scratch database (dropped on exit); sets PG_URL to it.
new_pg_db() {
    local name="tickler_bench_$$_$1" template="${2:-}"
    PG_DBS+=("$name")
    timeout 120 psql -q -X -v ON_ERROR_STOP=1 "$PG_ADMIN_URL" \
        -c "CREATE DATABASE \"$name\"${template:+ TEMPLATE \"$template\"}" >/dev/null
    PG_URL="$("$PYTHON" -c 'import sys, urllib.parse as u
p = u.urlsplit(sys.argv[1])
print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$PG_ADMIN_URL" "$name")"
}

# generate FILE ROWS [gen_contracts.py options]: the contracts CSV.
generate() {
    local file="$1" rows="$2"
    shift 2
    timeout "$BENCH_TIMEOUT" python3 "$BENCH_DIR/gen_contracts.py" "$rows" --owner "$BENCH_OWNER" "$@" >"$file"
}

# import_csv NAME DATABASE_URL CSV ROWS: adds the owner and imports, timed (WALL_S, PEAK_RSS_KB).
import_csv() {
    local name="$1" url="$2" csv="$3" rows="$4"
    timeout 120 "$TICKLER_BIN" --database "$url" user add --email "$BENCH_OWNER" --name "Bench Owner" >/dev/null
    measure "$name" "$TICKLER_BIN" --database "$url" import contracts "$csv" || die "$name: the import failed"
    grep -aq "^imported $rows contracts" "$TMP/$name.err" \
        || die "$name: expected \"imported $rows contracts\": $(grep -a '^imported' "$TMP/$name.err" || true)"
}

# sent_by FILE: the number after "sent" in a dispatcher's "claimed N, sent N, ..." line.
sent_by() {
    sed -n 's/^claimed .* sent \([0-9]*\),.*/\1/p' "$1" | head -n 1
}

# --- 1. Import ----------------------------------------------------------------------------

for size in $IMPORT_SIZES; do
    say "import of $size contracts into SQLite, and Python's sqlite3 with the same rows"
    csv="$TMP/contracts-$size.csv"
    generate "$csv" "$size" --first-end "$FAR_END"
    import_csv "import-$size" "sqlite://$TMP/import-$size.db" "$csv" "$size"
    tickler_rate="$(per_second "$size" "$WALL_S")"
    import_rss_mib="$(mib "$PEAK_RSS_KB")"
    timeout "$BENCH_TIMEOUT" python3 "$BENCH_DIR/peers/bare_sqlite.py" insert "$csv" "$TMP/peer-$size.db" >"$TMP/peer-insert-$size.out"
    rm -f "$TMP/peer-$size.db"*
    higher "import, SQLite, $size contracts" "contracts/s" "$tickler_rate" \
        "sqlite3" "$(result_field "$TMP/peer-insert-$size.out" rows_per_s)" 50000 0.33 ">= 50,000 (1M in 20 s), >= 1/3 of peer"
    [ "$size" = "$LARGEST" ] || rm -f "$csv" "$TMP/import-$size.db"*
done
lower "import peak RSS, $LARGEST contracts" "MiB" "$import_rss_mib" 200 "< 200"

say "import of $PG_IMPORT_SIZE contracts into PostgreSQL, and COPY of the same rows"
csv="$TMP/contracts-pg.csv"
generate "$csv" "$PG_IMPORT_SIZE" --first-end "$FAR_END"
new_pg_db import
import_csv import-pg "$PG_URL" "$csv" "$PG_IMPORT_SIZE"
IMPORT_PG_URL="$PG_URL"
tickler_rate="$(per_second "$PG_IMPORT_SIZE" "$WALL_S")"
new_pg_db copy
timeout "$BENCH_TIMEOUT" python3 "$BENCH_DIR/peers/pg_copy.py" "$csv" "$PG_URL" >"$TMP/peer-copy.out"
higher "import, PostgreSQL, $PG_IMPORT_SIZE contracts" "contracts/s" "$tickler_rate" \
    "COPY" "$(result_field "$TMP/peer-copy.out" rows_per_s)" - 0.33 ">= 1/3 of peer"
rm -f "$csv" "$TMP"/copy_*.csv

# --- 2. Dispatch on SQLite, to the file outbox on a tmpfs -----------------------------------

say "dispatch --once of $DUE due messages on SQLite (tmpfs), and a bare sqlite3 claim loop"
csv="$TMP/due.csv"
generate "$csv" "$DUE" --end "$DUE_END"
import_csv import-due "sqlite://$SHM/due.db" "$csv" "$DUE"
# Checkpoint the WAL so that plain copies of the file are whole databases.
sqlite3 "$SHM/due.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
cp "$SHM/due.db" "$SHM/dispatch.db"
measure dispatch-sqlite env TICKLER_OUTBOX="$SHM/outbox-sqlite" \
    "$TICKLER_BIN" --database "sqlite://$SHM/dispatch.db" dispatch --once --now "$DUE_NOW" || die "dispatch failed"
sent="$(sent_by "$TMP/dispatch-sqlite.err")"
[ "$sent" = "$DUE" ] || die "dispatch on SQLite sent ${sent:-?} of $DUE: $(grep -a '^claimed' "$TMP/dispatch-sqlite.err" || true)"
tickler_rate="$(per_second "$DUE" "$WALL_S")"
rm -rf "$SHM/outbox-sqlite" "$SHM/dispatch.db"*
cp "$SHM/due.db" "$SHM/peer-claim.db"
timeout "$BENCH_TIMEOUT" python3 "$BENCH_DIR/peers/bare_sqlite.py" claim "$SHM/peer-claim.db" "$DUE_NOW" >"$TMP/peer-claim.out"
[ "$(result_field "$TMP/peer-claim.out" rows)" = "$DUE" ] || die "the claim loop claimed $(result_field "$TMP/peer-claim.out" rows), not $DUE"
rm -f "$SHM/peer-claim.db"*
higher "dispatch, SQLite, file outbox, $DUE due" "messages/s" "$tickler_rate" \
    "sqlite3 claim loop" "$(result_field "$TMP/peer-claim.out" rows_per_s)" 50000 0.167 ">= 50,000, >= 1/6 of peer"
# The ceiling of any dispatch to the outbox on this machine: the per-message work that is not
# the database's (render the template, lay out the HTML, build the MIME message, write the
# .eml), on every core, measured by the mailer crate's own bench when the harness builds.
floor_rate=""
floor_note="not run: TICKLER_BIN given"
if [ -z "$GIVEN_BIN" ]; then
    say "the dispatch ceiling: cargo bench -p tickler-mail --bench outbox_floor"
    if (cd "$REPO" && BENCH_MESSAGES="$DUE" BENCH_OUTBOX="$SHM/outbox-floor" timeout "$BENCH_TIMEOUT" \
        cargo bench -q -p tickler-mail --bench outbox_floor) >"$TMP/floor.out" 2>"$TMP/floor.err"; then
        floor_rate="$(result_field "$TMP/floor.out" all_cores_per_s)"
        floor_note="$(result_field "$TMP/floor.out" cores) threads"
    else
        floor_note="the bench failed"
        say "cargo bench -p tickler-mail failed: $(tail -n 3 "$TMP/floor.err")"
    fi
fi
higher "dispatch, SQLite, file outbox, $DUE due" "messages/s" "$tickler_rate" \
    "render+MIME+.eml alone, no database ($floor_note)" "$floor_rate" - - "(the ceiling, for reference)"

# --- 3. Dispatch on PostgreSQL, one process and three; graphile-worker and pgqueuer ---------

say "dispatch --once of $DUE due messages on PostgreSQL, 1 and 3 processes"
new_pg_db due_template
template_db="tickler_bench_$$_due_template"
import_csv import-pg-due "$PG_URL" "$csv" "$DUE"
rm -f "$csv"
pg_rates=()
for k in 1 3; do
    new_pg_db "dispatch_$k" "$template_db"
    start="$(now_s)"
    pids=()
    for i in $(seq 1 "$k"); do
        TICKLER_OUTBOX="$SHM/outbox-pg-$k" timeout "$BENCH_TIMEOUT" "$TICKLER_BIN" --database "$PG_URL" \
            dispatch --once --now "$DUE_NOW" >"$TMP/dispatch-pg-$k-$i.out" 2>"$TMP/dispatch-pg-$k-$i.err" &
        pids+=("$!")
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || die "a dispatcher on PostgreSQL failed: $(tail -n 5 "$TMP"/dispatch-pg-"$k"-*.err)"
    done
    wall="$(awk -v a="$start" -v b="$(now_s)" 'BEGIN { printf "%.3f", b - a }')"
    sent="$(timeout 60 psql -X -At "$PG_URL" -c "SELECT count(*) FROM reminders WHERE status = 'sent'")"
    [ "$sent" = "$DUE" ] || die "$k dispatchers on PostgreSQL recorded $sent sent, not $DUE"
    pg_rates+=("$(per_second "$DUE" "$wall")")
    rm -rf "$SHM/outbox-pg-$k"
done

graphile_plain=""
graphile_batched=""
if [ "$HAVE_GRAPHILE" = 1 ]; then
    for mode in plain batched; do
        say "graphile-worker ($mode) draining $DUE no-op jobs"
        new_pg_db "graphile_$mode"
        NODE_PATH="$SCRATCH/node_modules" timeout "$BENCH_TIMEOUT" node "$BENCH_DIR/peers/graphile_drain.mjs" \
            "$PG_URL" "$DUE" "$mode" >"$TMP/graphile-$mode.out" 2>"$TMP/graphile-$mode.err" \
            || say "graphile-worker ($mode) failed: $(tail -n 3 "$TMP/graphile-$mode.err")"
    done
    graphile_plain="$(result_field "$TMP/graphile-plain.out" jobs_per_s)"
    graphile_batched="$(result_field "$TMP/graphile-batched.out" jobs_per_s)"
fi
pgqueuer=""
if [ "$HAVE_PGQUEUER" = 1 ]; then
    say "pgqueuer draining $DUE no-op jobs"
    new_pg_db pgqueuer
    timeout "$BENCH_TIMEOUT" "$SCRATCH/venv/bin/python" "$BENCH_DIR/peers/pgqueuer_drain.py" "$PG_URL" "$DUE" \
        >"$TMP/pgqueuer.out" 2>"$TMP/pgqueuer.err" || say "pgqueuer failed: $(tail -n 3 "$TMP/pgqueuer.err")"
    pgqueuer="$(result_field "$TMP/pgqueuer.out" jobs_per_s)"
fi
for k in 1 3; do
    rate="${pg_rates[0]}"
    processes="1 process"
    if [ "$k" = 3 ]; then
        rate="${pg_rates[1]}"
        processes="3 processes"
    fi
    higher "dispatch, PostgreSQL, $processes, $DUE due" "messages/s" "$rate" \
        "graphile-worker batched" "$graphile_batched" 20000 2 ">= 20,000, >= 2x peer"
    higher "dispatch, PostgreSQL, $processes, $DUE due" "messages/s" "$rate" \
        "pgqueuer" "$pgqueuer" 20000 3 ">= 20,000, >= 3x peer"
done
higher "dispatch, PostgreSQL, 1 process, $DUE due" "messages/s" "${pg_rates[0]}" \
    "graphile-worker unbatched" "$graphile_plain" - - "(for reference)"
higher "dispatch, PostgreSQL, 3 processes over 1" "x" \
    "$(awk -v a="${pg_rates[1]}" -v b="${pg_rates[0]}" 'BEGIN { printf "%.2f", a / b }')" - "" 1.01 - "more with three"

# --- 4. End to end over SMTP to aiosmtpd, and aiosmtpd alone --------------------------------

say "dispatch --once of $SMTP_MESSAGES messages over SMTP, 1 and 8 connections, and a trivial client"
csv="$TMP/smtp.csv"
generate "$csv" "$SMTP_MESSAGES" --end "$DUE_END"
import_csv import-smtp "sqlite://$TMP/smtp.db" "$csv" "$SMTP_MESSAGES"
sqlite3 "$TMP/smtp.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
for c in 1 8; do
    cp "$TMP/smtp.db" "$TMP/smtp-run.db"
    start_smtp "$TMP/maildir-$c"
    measure "smtp-$c" env TICKLER_SMTP_URL="smtp://127.0.0.1:$SMTP_PORT?tls=none" TICKLER_SEND_CONCURRENCY="$c" \
        "$TICKLER_BIN" --database "sqlite://$TMP/smtp-run.db" dispatch --once --now "$DUE_NOW" || die "dispatch over SMTP failed"
    stop_smtp
    received="$(find "$TMP/maildir-$c" -name '*.eml' | wc -l)"
    [ "$received" = "$SMTP_MESSAGES" ] || die "the SMTP server received $received of $SMTP_MESSAGES messages"
    tickler_rate="$(per_second "$received" "$WALL_S")"
    start_smtp "$TMP/maildir-peer-$c"
    timeout "$BENCH_TIMEOUT" python3 "$BENCH_DIR/peers/smtp_client.py" "$SMTP_PORT" "$SMTP_MESSAGES" "$c" >"$TMP/peer-smtp-$c.out"
    stop_smtp
    min="-"
    [ "$c" = 1 ] && min=1000
    higher "SMTP end to end, $c connection$([ "$c" = 1 ] || echo s), $SMTP_MESSAGES messages" "messages/s" "$tickler_rate" \
        "aiosmtpd alone" "$(result_field "$TMP/peer-smtp-$c.out" messages_per_s)" "$min" 0.9 \
        "$([ "$c" = 1 ] && echo ">= 1,000, ")>= 90% of peer"
    rm -rf "$TMP/smtp-run.db"* "$TMP/maildir-$c" "$TMP/maildir-peer-$c"
done

# --- 6. Invoicing: SALES recurring sales whose first invoices all fall due by one instant ----

# billing_field FILE KEY: KEY=... of the engine's "billing run" log line (colours stripped).
billing_field() {
    sed 's/\x1b\[[0-9;]*m//g' "$1" | sed -n "s/.*billing run.*\b$2=\([0-9]*\).*/\1/p" | tail -n 1
}

say "invoicing run of $SALES recurring sales on SQLite (tmpfs)"
csv="$TMP/sales.csv"
generate "$csv" "$SALES" --recurring monthly --start "$SALES_START"
import_csv import-sales "sqlite://$SHM/sales.db" "$csv" "$SALES"
rm -f "$csv"
# Billing runs first in a dispatch and logs its own count and wall time ("billing run"); the
# invoices' emails (with their PDFs) go out after it in the same run, outside that figure.
measure invoicing env TICKLER_OUTBOX="$SHM/outbox-sales" \
    "$TICKLER_BIN" --database "sqlite://$SHM/sales.db" dispatch --once --now "$SALES_NOW" || die "the invoicing run failed"
invoiced="$(billing_field "$TMP/invoicing.err" invoiced)"
billing_ms="$(billing_field "$TMP/invoicing.err" elapsed_ms)"
[ "$invoiced" = "$SALES" ] || die "the billing run made ${invoiced:-no} invoices of $SALES: $(grep -a 'invoices made' "$TMP/invoicing.err" || true)"
stored="$(sqlite3 "$SHM/sales.db" "SELECT count(*) FROM invoices WHERE status = 'issued'")"
[ "$stored" = "$SALES" ] || die "the database holds $stored issued invoices, not $SALES"
invoice_rate=""
[ -n "$billing_ms" ] && invoice_rate="$(per_second "$SALES" "$(awk -v ms="$billing_ms" 'BEGIN { print ms / 1000 }')")"
rm -rf "$SHM/outbox-sales" "$SHM/sales.db"*
higher "invoicing run, $SALES recurring sales, no PDF" "invoices/s" "$invoice_rate" - "" 10000 - ">= 10,000"

# The PDFs: the crate's own bench (one thread), when the harness builds from this tree.
pdf_rate=""
pdf_kind="not run: TICKLER_BIN given"
if [ -z "$GIVEN_BIN" ]; then
    say "invoice PDFs: cargo bench -p tickler-documents --bench invoice_pdf ($PDF_INVOICES per kind)"
    if (cd "$REPO" && BENCH_INVOICES="$PDF_INVOICES" timeout "$BENCH_TIMEOUT" \
        cargo bench -q -p tickler-documents --bench invoice_pdf) >"$TMP/pdf.out" 2>"$TMP/pdf.err"; then
        # The slowest kind of invoice (quotes left out), as PDFs per second on one thread.
        read -r pdf_kind pdf_rate < <(sed -n 's/^RESULT kind=\([a-z0-9_]*\) .*mean_ms=\([0-9.]*\).*/\1 \2/p' "$TMP/pdf.out" \
            | grep -v '^quote_' | sort -k2 -g | tail -n 1 | awk '{ printf "%s %.0f\n", $1, 1000 / $2 }')
    else
        pdf_kind="the bench failed"
        say "cargo bench -p tickler-documents failed: $(tail -n 3 "$TMP/pdf.err")"
    fi
fi
higher "invoice PDFs, slowest kind ($pdf_kind), one thread" "PDFs/s per core" "$pdf_rate" - "" 200 - ">= 200"

# --- 7. Footprint and 8. pages, on the largest import ---------------------------------------

say "serve on $LARGEST contracts: start to /readyz, idle RSS, p95 of the pages"
DB="$TMP/import-$LARGEST.db"
URL="sqlite://$DB"
ADMIN="admin@firm.example"
PASSWORD="bench password, long enough"
printf '%s\n' "$PASSWORD" | timeout 120 "$TICKLER_BIN" --database "$URL" user add \
    --email "$ADMIN" --name "Bench Admin" --role admin --password-stdin >/dev/null
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
start="$(now_s)"
"$TICKLER_BIN" --database "$URL" serve --listen "127.0.0.1:$PORT" >"$TMP/serve.out" 2>"$TMP/serve.err" &
SERVER_PID=$!
ready_ms=""
for _ in $(seq 1 2000); do
    if curl -fs -o /dev/null "$BASE/readyz" 2>/dev/null; then
        ready_ms="$(awk -v a="$start" -v b="$(now_s)" 'BEGIN { printf "%.0f", (b - a) * 1000 }')"
        break
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || die "tickler serve stopped: $(tail -n 5 "$TMP/serve.err")"
    sleep 0.005
done
[ -n "$ready_ms" ] || die "tickler serve did not answer /readyz with 200 within 10 s"
sleep 2
idle_rss_mib="$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status")"
lower "serve: start to /readyz 200, $LARGEST contracts" "ms" "$ready_ms" 200 "< 200 (at 1M)"
lower "serve: idle RSS, $LARGEST contracts" "MiB" "$idle_rss_mib" 64 "< 64 (at 1M)"

contract_id="$(sqlite3 "$DB" "SELECT id FROM contracts ORDER BY id LIMIT 1 OFFSET $((LARGEST / 2))")"
customer_id="$(sqlite3 "$DB" "SELECT customer_id FROM contracts WHERE id = $contract_id")"
printf '%s\n' "$PASSWORD" | timeout "$BENCH_TIMEOUT" python3 "$BENCH_DIR/peers/web_p95.py" "$BASE" "$ADMIN" "$WEB_REQUESTS" \
    / /contracts "/contracts?q=HVAC" "/contracts/$contract_id" /customers "/customers/$customer_id" \
    /review /sent /plans /invoices /tasks >"$TMP/web.out" || die "the page timings failed"
sed 's/^/bench: /' "$TMP/web.out" | grep -v RESULT >&2
lower "web: worst page p95 ($(result_field "$TMP/web.out" worst_path)), $LARGEST contracts" "ms" \
    "$(result_field "$TMP/web.out" worst_p95_ms)" 50 "< 50 (at 1M)"
kill "$SERVER_PID" 2>/dev/null || true
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""

# --- 5. Burst: BURST of the pending reminders made due at one instant, serve running

# sql URL STATEMENT: runs one statement on Tickler's database (sqlite3 or psql), prints rows.
sql() {
    case "$1" in
        sqlite://*) sqlite3 "${1#sqlite://}" "$2" ;;
        *) timeout 120 psql -X -At -q "$1" -c "$2" ;;
    esac
}

# burst_on NAME URL MAX: the first step of BURST contracts is moved to an instant 8 s ahead
# (the harness's one write to Tickler's tables: no command sets a due instant to the second),
# then `serve` starts, and each message's lateness is its outbox file's time minus that
# instant; met when the latest is at most MAX seconds late.
burst_on() {
    local name="$1" url="$2" max="$3"
    local burst="$BURST" pending due_ms late=""
    pending="$(sql "$url" "SELECT count(*) FROM reminders WHERE status = 'scheduled'")"
    [ "$burst" -le "$pending" ] || burst="$pending"
    say "burst, $name: $burst of $pending pending reminders due at one instant, serve running"
    due_ms=$(($(date +%s%3N) + 8000))
    sql "$url" "UPDATE reminders SET send_at = $due_ms, due_at = $due_ms WHERE id IN (
        SELECT id FROM reminders WHERE step_key = 'before_60' AND status = 'scheduled' ORDER BY id LIMIT $burst)" >/dev/null
    TICKLER_OUTBOX="$SHM/outbox-burst-$name" "$TICKLER_BIN" --database "$url" serve --listen "127.0.0.1:$PORT" \
        >"$TMP/serve-burst-$name.out" 2>"$TMP/serve-burst-$name.err" &
    SERVER_PID=$!
    if python3 "$BENCH_DIR/lateness.py" "$SHM/outbox-burst-$name" "$due_ms" "$burst" 120 >"$TMP/burst-$name.out"; then
        late="$(result_field "$TMP/burst-$name.out" max_s)"
    fi
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    lower "burst, $name: latest of $burst due at once among $pending pending" "s" "$late" "$max" "<= $max (10,000 among 1M)"
}
burst_on SQLite "$URL" 1
burst_on PostgreSQL "$IMPORT_PG_URL" 2

# --- The table ----------------------------------------------------------------------------

echo
echo "bench/run.sh$([ "$QUICK" = 1 ] && echo " --quick"), $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "binary: $("$TICKLER_BIN" --version), commit $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')"
awk -F'\t' '
    { for (i = 1; i <= NF; i++) { cell[NR, i] = $i; if (length($i) > width[i]) width[i] = length($i) } }
    END {
        for (r = 1; r <= NR; r++) {
            line = "|"
            for (i = 1; i <= 7; i++) line = line sprintf(" %-" width[i] "s |", cell[r, i])
            print line
            if (r == 1) {
                line = "|"
                for (i = 1; i <= 7; i++) { dash = ""; for (j = 0; j < width[i] + 2; j++) dash = dash "-"; line = line dash "|" }
                print line
            }
        }
    }' "$TABLE"
