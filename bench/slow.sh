#!/usr/bin/env bash
# Slow and greedy clients against the `porter` binary (issue 7), loopback only.
#
#   bench/slow.sh [SECONDS]        default 30 s per phase; 6 phases
#
# Phases, each against a fresh `porter --threads 1 --no-access-log` serving a
# temporary directory (index.html, 4 KiB; big.bin, 1 MiB):
#   slowloris   slowhttptest -H: 1000 connections sending headers slowly
#   slowbody    slowhttptest -B: 1000 POSTs sending their bodies slowly (R-U-Dead-Yet)
#   slowread    slowhttptest -X: 1000 connections reading big.bin through tiny windows
#   range       slowhttptest -R: 1000 requests with many overlapping byte ranges
#   trickle     1000 connections trickling a head one byte a second (bench/slow/trickle.py)
#               under the default --header-timeout (10 s), then under 60 s so all
#               1000 stay open for the whole phase: porter's RSS is the figure.
# During every phase bench/slow/probe.py makes an ordinary request every 50 ms on
# a new connection and reports successes, failures and latency percentiles, plus
# porter's peak RSS. slowhttptest's own verdict ("service available") and its
# connection counts are summarised from its CSV.
#
# Needs slowhttptest (Debian package `slowhttptest`; installed with apt-get if
# missing, by bench/compare.py ensure) and python3. Counts and times are
# bounded; nothing leaves loopback.
set -euo pipefail

seconds=${1:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
here="$root/bench/slow"

python3 bench/compare.py ensure slowhttptest   # porter's bench harness: apt-get if missing
if ! cargo build --release -q -p porter-cli >&2; then
    [ -x target/release/porter ] || exit 1
    echo "warning: build failed; using the existing target/release/porter" >&2
fi
ulimit -n 8192 2>/dev/null || true

work=$(mktemp -d /tmp/porter-slow.XXXXXX)
mkdir -p "$work/root"
head -c 4096 /dev/zero | tr '\0' 'x' >"$work/root/index.html"
head -c $((1024 * 1024)) /dev/urandom >"$work/root/big.bin"
pid=
stop_porter() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        pid=
    fi
}
trap 'stop_porter; rm -rf "$work"' EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_porter() {
    port=$(free_port)
    target/release/porter --listen "127.0.0.1:$port" --root "$work/root" --threads 1 --no-access-log "$@" \
        2>"$work/porter.log" &
    pid=$!
    for _ in $(seq 100); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.1).close()" 2>/dev/null && return
        sleep 0.05
    done
    echo "porter did not start" >&2
    cat "$work/porter.log" >&2
    exit 1
}

# Summarises slowhttptest's CSV (seconds,closed,pending,connected,service available).
summarise_csv() {
    python3 - "$1" "$2" <<'PY'
import csv, sys
label, path = sys.argv[1], sys.argv[2]
try:
    rows = list(csv.reader(open(path)))[1:]
except OSError:
    print(f"{label:<10} slowhttptest wrote no CSV"); sys.exit()
rows = [r for r in rows if len(r) >= 5]
connected = max((int(r[3]) for r in rows), default=0)
closed = max((int(r[1]) for r in rows), default=0)
down = sum(1 for r in rows if r[4].strip() == "0")
print(f"{label:<10} slowhttptest: peak_connected={connected} closed_by_end={closed} "
      f"seconds_service_unavailable={down}/{len(rows)}")
PY
}

attack() {
    local label=$1 path=$2
    shift 2
    start_porter
    python3 "$here/probe.py" --port "$port" --path /index.html --seconds "$seconds" --pid "$pid" \
        --label "$label" &
    local probe=$!
    slowhttptest "$@" -c 1000 -r 200 -l "$seconds" -u "http://127.0.0.1:$port$path" -p 3 -g \
        -o "$work/$label" >"$work/$label.out" 2>&1 || true
    wait "$probe"
    summarise_csv "$label" "$work/$label.csv"
    stop_porter
}

echo "porter $(target/release/porter --version 2>/dev/null || true); $seconds s per phase; loopback"
attack slowloris /index.html -H -i 5 -x 24
attack slowbody /index.html -B -i 5 -x 24 -s 8192
attack slowread /big.bin -X -k 3 -n 1 -w 1 -y 512 -z 32
attack range /big.bin -R -a 10 -b 3000

for timeout in 10 60; do
    start_porter --header-timeout "$timeout"
    python3 "$here/probe.py" --port "$port" --path /index.html --seconds "$seconds" --pid "$pid" \
        --label "trickle$timeout" &
    probe=$!
    python3 "$here/trickle.py" --port "$port" --pid "$pid" --conns 1000 --seconds "$seconds" \
        --label "trickle$timeout"
    wait "$probe"
    stop_porter
done
