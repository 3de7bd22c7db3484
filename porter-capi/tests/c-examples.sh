#!/usr/bin/env bash
# The C examples, end to end: builds libporter (release), installs it into a
# scratch prefix and compiles examples/c against it with pkg-config (static),
# runs them, checks their answers with curl, and runs hello under valgrind
# (memcheck, leaks counted) to a clean exit. Called by scripts/test.sh.
#
#   porter-capi/tests/c-examples.sh        (from anywhere)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$here/.." && pwd)"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "c-examples: $*" >&2; exit 1; }
# cmd | has [GREP-OPTIONS] PATTERN: like `grep -q`, but reads all its input: under pipefail,
# `cmd | grep -q` fails at random when grep exits before cmd has written (SIGPIPE).
has() { grep "$@" >/dev/null; }

make -s -C "$here" install PREFIX="$work/prefix" >/dev/null
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
# What is installed: a shared library with its SONAME (build.rs's, the one the Makefile
# computes: libporter.so.0.MINOR while the version is 0.x) and its links, both libraries
# without debug info.
lib="$work/prefix/lib"
soname="$(make -s --no-print-directory -C "$here" soname)"
[[ "$soname" =~ ^libporter\.so\.(0\.[0-9]+|[1-9][0-9]*)$ ]] || fail "the Makefile's SONAME is $soname"
got="$(readelf -d "$lib/libporter.so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')"
[ "$got" == "$soname" ] || fail "libporter.so has the SONAME [$got], the Makefile installs it as $soname"
[ "$(readlink "$lib/libporter.so")" == "$soname" ] || fail "libporter.so does not link to $soname"
[ -f "$(readlink -f "$lib/$soname")" ] || fail "$soname leads to no file"
for f in "$lib/$soname" "$lib/libporter.a"; do
  ! objdump -h "$f" | has -E '\.debug_|\.llvmbc' || fail "$f has debug info or LLVM bitcode"
done
echo "c-examples: installed $(du -hL "$lib/libporter.so" | cut -f1) libporter.so, $(du -h "$lib/libporter.a" | cut -f1) libporter.a"
cflags="-O2 -Wall -Wextra -Werror -std=c11 -D_POSIX_C_SOURCE=200809L"
for ex in hello embed; do
  # shellcheck disable=SC2046,SC2086
  # The static library (-l:libporter.a), with the system libraries it needs.
  cc $cflags "$root/examples/c/$ex.c" $(pkg-config --cflags porter) \
    $(pkg-config --libs --static porter | sed 's/-lporter\b/-l:libporter.a/') -o "$work/$ex"
done
# The shared library through plain pkg-config, too.
# shellcheck disable=SC2046,SC2086
cc $cflags "$root/examples/c/embed.c" $(pkg-config --cflags --libs porter) -o "$work/embed-shared"
ldd "$work/hello" | has libporter && fail "hello is not linked statically"
ldd "$work/embed-shared" | has libporter.so || fail "embed-shared does not use libporter.so"
readelf -d "$work/embed-shared" | has -F "Shared library: [$soname]" || fail "embed-shared does not need $soname"

# start NAME CMD...: runs CMD in the background, waits for "serving on http://ADDR", sets $addr and $pid.
start() {
  local name="$1" log="$work/$1.log"; shift
  : >"$log"
  "$@" >"$log" 2>&1 </dev/null &
  pid=$!; pids+=("$pid")
  for _ in $(seq 1 300); do
    addr="$(sed -n 's|^serving on http://||p' "$log")"
    [ -n "$addr" ] && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; fail "$name exited early"; }
    sleep 0.1
  done
  cat "$log" >&2; fail "$* did not start"
}

expect() { # expect WHAT GOT WANT
  [ "$2" == "$3" ] || fail "$1: got [$2], want [$3]"
}

check_hello() {
  local base="http://$addr"
  expect plaintext "$(curl -s "$base/plaintext")" "Hello, World!"
  expect plaintext-type "$(curl -s -o /dev/null -w '%{content_type}' "$base/plaintext")" "text/plain"
  expect echo "$(curl -s -H 'Content-Type: application/json' --data-binary '{"n":[1,2,3]}' "$base/echo")" '{"n":[1,2,3]}'
  expect echo-type "$(curl -s -o /dev/null -w '%{http_code} %{content_type}' -H 'Content-Type: application/json' -d '{}' "$base/echo")" "200 application/json"
  expect echo-415 "$(curl -s -o /dev/null -w '%{http_code}' -d 'x=1' "$base/echo")" "415"
  expect worker "$(curl -s "$base/worker")" "answered by a worker thread"
  expect stream "$(curl -s "$base/stream" | tr '\n' ' ')" "line 1 line 2 line 3 line 4 line 5 "
  expect stream-chunked "$(curl -s -o /dev/null -D - "$base/stream" | tr -d '\r' | grep -i '^transfer-encoding')" "Transfer-Encoding: chunked"
  expect file "$(curl -s "$base/")" "<h1>porter from C</h1>"
  expect file-type "$(curl -s -o /dev/null -w '%{content_type}' "$base/index.html")" "text/html; charset=utf-8"
  expect missing "$(curl -s -o /dev/null -w '%{http_code}' "$base/nope.txt")" "404"
  expect pipelined "$(curl -s "$base/plaintext" "$base/worker" "$base/plaintext" | tr '\n' ' ')" \
    "Hello, World!answered by a worker thread Hello, World!"
  # Behind a load balancer: the PROXY listener takes the client address from the header.
  local proxy; proxy="$(sed -n 's|^proxy on http://||p' "$work/$1.log")"
  expect whoami-proxied "$(proxied "$proxy" 'PROXY TCP4 203.0.113.9 127.0.0.1 5555 80\r\n' /whoami | tail -n1)" \
    "203.0.113.9:5555"
  expect whoami-no-header "$(proxied "$proxy" '' /whoami)" ""
  # Metrics count what was answered (the first /plaintext above, among others).
  curl -s "$base/metrics" | has -E '^porter_requests_total\{class="2xx"\} [1-9]' || fail "metrics: $(curl -s "$base/metrics")"
  # The access log: a Combined line per reply, written by porter's writer thread (so: waited for).
  wait_grep '"GET /plaintext HTTP/1.1" 200 13' "$work/access.log" || fail "access log: $(cat "$work/access.log")"
  wait_grep '^203.0.113.9 - - \[.*"GET /whoami HTTP/1.1" 200' "$work/access.log" ||
    fail "access log lacks the proxied client"
}

# wait_grep PATTERN FILE: polls (10 s at most) until FILE has a line matching PATTERN.
wait_grep() {
  for _ in $(seq 1 100); do grep -q "$1" "$2" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# proxied ADDR HEADER PATH: sends HEADER (printf format) then a GET of PATH on a raw connection; prints the body.
proxied() {
  local host="${1%:*}" port="${1##*:}"
  exec 3<>"/dev/tcp/$host/$port"
  printf "$2"'GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' "$3" >&3
  sed -n '/^\r$/,$p' <&3 2>/dev/null | tail -n +2  # a refused connection may be reset
  exec 3<&-
}

stop() { # stop: SIGTERM, then the exit status must be 0
  kill -TERM "$pid"
  local status=0
  wait "$pid" || status=$?
  [ "$status" -eq 0 ] || { cat "$work"/*.log >&2; fail "exit status $status"; }
}

mkdir -p "$work/www"
echo '<h1>porter from C</h1>' >"$work/www/index.html"

start hello env HELLO_ACCESS_LOG="$work/access.log" HELLO_PROXY=127.0.0.1:0 HELLO_METRICS=1 \
  "$work/hello" 127.0.0.1:0 "$work/www"
check_hello hello
# Log rotation: rename, SIGUSR1 (porter_server_reopen_logs), and new lines go to a new file.
mv "$work/access.log" "$work/access.log.1"
kill -USR1 "$pid"
for _ in $(seq 1 100); do [ -e "$work/access.log" ] && break; sleep 0.1; done
[ -e "$work/access.log" ] || fail "SIGUSR1 did not reopen the access log"
curl -s "http://$addr/plaintext?after-rotation" >/dev/null
wait_grep 'after-rotation' "$work/access.log" || fail "no line in the reopened access log"
grep -q 'after-rotation' "$work/access.log.1" && fail "a line after the rotation went to the old file"
stop
echo "c-examples: hello ok"

start embed "$work/embed" 127.0.0.1:0
expect embed-hello "$(curl -s "http://$addr/hello")" "Hello from a poll() loop (#1)"
expect embed-hello2 "$(curl -s "http://$addr/hello")" "Hello from a poll() loop (#2)"
expect embed-quit "$(curl -s "http://$addr/quit")" "bye"
status=0; wait "$pid" || status=$?
[ "$status" -eq 0 ] || fail "embed exit status $status"
grep -q '^served 2$' "$work/embed.log" || fail "embed log: $(cat "$work/embed.log")"
echo "c-examples: embed ok"

start embed-shared env LD_LIBRARY_PATH="$work/prefix/lib" "$work/embed-shared" 127.0.0.1:0
expect shared-hello "$(curl -s "http://$addr/hello")" "Hello from a poll() loop (#1)"
expect shared-quit "$(curl -s "http://$addr/quit")" "bye"
wait "$pid" || fail "embed-shared failed"
echo "c-examples: embed (shared library) ok"

rm -f "$work/access.log"
start valgrind env HELLO_ACCESS_LOG="$work/access.log" HELLO_PROXY=127.0.0.1:0 HELLO_METRICS=1 \
  valgrind --error-exitcode=1 --leak-check=full --log-file="$work/valgrind.txt" "$work/hello" 127.0.0.1:0 "$work/www"
check_hello valgrind
stop
cp "$work/valgrind.txt" "$root/target/c-examples-valgrind.txt" 2>/dev/null || true
grep -E 'ERROR SUMMARY|definitely|indirectly|possibly' "$work/valgrind.txt" | sed 's/^==[0-9]*== /valgrind: /'
grep -q 'ERROR SUMMARY: 0 errors' "$work/valgrind.txt" || { cat "$work/valgrind.txt" >&2; fail "valgrind found errors"; }
grep -qE "All heap blocks were freed|definitely lost: 0 bytes" "$work/valgrind.txt" || fail "valgrind counted leaks"
echo "c-examples: hello under valgrind ok"
