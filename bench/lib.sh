# Shared by bench/*.sh (sourced, not run). Sets REPO, BENCH_DIR, TICKLER_BIN, BENCH_TIMEOUT.

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$BENCH_DIR/.." && pwd)"

# The binary under test; relative paths are taken from the repository root.
TICKLER_BIN="${TICKLER_BIN:-target/release/tickler}"
case "$TICKLER_BIN" in
    /*) ;;
    *) TICKLER_BIN="$REPO/$TICKLER_BIN" ;;
esac

# Upper bound in seconds for any one command (generation, import, dispatch).
BENCH_TIMEOUT="${BENCH_TIMEOUT:-1800}"

# The owner of every generated contract; added with `tickler user add` before the import.
BENCH_OWNER="sales@firm.example"

die() {
    echo "bench: $*" >&2
    exit 1
}

check_bin() {
    [ -x "$TICKLER_BIN" ] || die "no tickler binary at $TICKLER_BIN (build with: cargo build --release -p tickler, or set TICKLER_BIN)"
}

# GNU time's -v output is what gives the peak RSS; Debian ships it in the `time` package.
ensure_gnu_time() {
    if ! /usr/bin/time -v true >/dev/null 2>&1; then
        echo "bench: installing Debian's time package for /usr/bin/time -v" >&2
        apt-get install -y -qq time >/dev/null || die "/usr/bin/time is missing and apt-get install time failed"
    fi
}

# Seconds since the epoch with nanoseconds.
now_s() {
    date +%s.%N
}

# measure NAME CMD...: runs CMD under /usr/bin/time -v and `timeout`, with its stdout and
# stderr in $TMP/NAME.out and $TMP/NAME.err and time's report in $TMP/NAME.time.
# Sets WALL_S (seconds, from the shell's clock), CPU_S (user + system seconds of CMD and its
# children, from time) and PEAK_RSS_KB. Fails if CMD fails.
measure() {
    local name="$1"
    shift
    local start end rc=0
    start="$(now_s)"
    /usr/bin/time -v -o "$TMP/$name.time" timeout "$BENCH_TIMEOUT" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || rc=$?
    end="$(now_s)"
    if [ "$rc" -ne 0 ]; then
        echo "bench: command failed (exit $rc): $*" >&2
        sed -n '1,40p' "$TMP/$name.err" >&2
        [ "$rc" -eq 124 ] && echo "bench: (timed out after ${BENCH_TIMEOUT}s)" >&2
        return "$rc"
    fi
    WALL_S="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')"
    PEAK_RSS_KB="$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$TMP/$name.time")"
    CPU_S="$(awk -F': ' '/User time|System time/ { t += $2 } END { printf "%.2f", t }' "$TMP/$name.time")"
}

# per_second COUNT SECONDS
per_second() {
    awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "inf" }'
}

mib() {
    awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'
}

# Bytes to MiB.
to_mib() {
    awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'
}

# Size of an SQLite database with its WAL and shared-memory files, in bytes.
sqlite_bytes() {
    local total=0 f
    for f in "$1" "$1-wal" "$1-shm"; do
        if [ -f "$f" ]; then
            total=$((total + $(stat -c %s "$f")))
        fi
    done
    echo "$total"
}

# The SMTP test server (scripts/smtp-test-server.py with Debian's python3-aiosmtpd), for the
# dispatch benchmarks. Needs TMP set by the caller; SMTP_PID is the running server, if any.
PYTHON=/usr/bin/python3
SMTP_PID=""

ensure_aiosmtpd() {
    if ! "$PYTHON" -c "import aiosmtpd" 2>/dev/null; then
        echo "bench: installing Debian's python3-aiosmtpd" >&2
        apt-get install -y -qq python3-aiosmtpd >/dev/null || die "python3-aiosmtpd is missing and apt-get install failed"
    fi
}

# start_smtp MAILDIR: starts the test server on a free loopback port; sets SMTP_PORT.
start_smtp() {
    local maildir="$1" log="$TMP/smtp.out"
    : >"$log"
    "$PYTHON" "$REPO/scripts/smtp-test-server.py" --host 127.0.0.1 --port 0 --maildir "$maildir" >"$log" 2>"$TMP/smtp.err" &
    SMTP_PID=$!
    SMTP_PORT=""
    for _ in $(seq 1 100); do
        SMTP_PORT="$(sed -n 's/^LISTENING \([0-9]*\)$/\1/p' "$log")"
        [ -n "$SMTP_PORT" ] && return 0
        kill -0 "$SMTP_PID" 2>/dev/null || break
        sleep 0.1
    done
    cat "$TMP/smtp.err" >&2
    die "the SMTP test server did not start"
}

stop_smtp() {
    if [ -n "$SMTP_PID" ]; then
        kill "$SMTP_PID" 2>/dev/null || true
        # It closes within ~2 s of SIGTERM; do not wait longer than that for it.
        for _ in $(seq 1 50); do
            kill -0 "$SMTP_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$SMTP_PID" 2>/dev/null || true
        wait "$SMTP_PID" 2>/dev/null || true
        SMTP_PID=""
    fi
}
