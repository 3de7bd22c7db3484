#!/usr/bin/env bash
# HTTPS benchmark: porter vs nginx with TLS, one worker each, same certificate
# (ECDSA P-256, made here with openssl) and the same TLS 1.3 suite
# (TLS_AES_256_GCM_SHA384, X25519; wrk's OpenSSL client prefers it and nginx is
# pinned to it). Two scenarios, run alternately ROUNDS times; medians and ratios:
#
#   keepalive  wrk https, 50 keep-alive connections, GET /plaintext
#   handshake  the same with `Connection: close`: a full handshake per request
#
# Besides requests/s it prints the CPU each side used (cores busy, from
# /proc/PID/stat) and requests per server CPU-second. On two cores wrk needs a
# whole core for TLS: when the client is the one at 100%, requests/s measure the
# client's ceiling, and requests per server CPU-second show the servers' cost.
#
#   bench/tls.sh
#   ROUNDS=5 DURATION=6 bench/tls.sh
#
# The servers are pinned to CPU 0 and wrk to CPU 1 (when there are two CPUs).
# nginx's config is the harness's (bench/peers/nginx.conf: one worker, no logs),
# rendered with a TLS listener by `bench/compare.py conf`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}; DURATION=${DURATION:-5}; CONNS=${CONNS:-50}
python3 bench/compare.py ensure wrk nginx openssl curl /usr/bin/time
cargo build --release --quiet -p porter-cli
work=$(mktemp -d /tmp/porter-tls-bench.XXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext subjectAltName=DNS:localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
mkdir -p "$work/www"
python3 bench/compare.py conf nginx --port 9443 --root "$work/www" --work "$work" \
  --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" > "$work/nginx.conf"
pin_server=""; pin_client=""
if [ "$(nproc)" -ge 2 ]; then pin_server="taskset -c 0"; pin_client="taskset -c 1"; fi

start() { # name → starts the server in the background, waits for its port
  case $1 in
    porter) $pin_server target/release/porter --listen 127.0.0.1:9180 --tls-listen 127.0.0.1:9443 \
              --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" --threads 1 --quiet >/dev/null 2>&1 & ;;
    nginx)  $pin_server nginx -p "$work" -e "$work/nginx-error.log" -c "$work/nginx.conf" >/dev/null 2>&1 & ;;
  esac
  echo $! > "$work/server.pid"
  for _ in $(seq 100); do curl -sk -o /dev/null https://127.0.0.1:9443/plaintext && return; sleep 0.05; done
  echo "bench: $1 did not start" >&2; exit 1
}
stop() { kill "$(cat "$work/server.pid")" 2>/dev/null || true; wait 2>/dev/null || true; }
server_ticks() { # CPU clock ticks (user + system) of the server and its children
  local pid; pid=$(cat "$work/server.pid")
  for p in $pid $(pgrep -P "$pid"); do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null; done | awk '{t += $1} END {print t + 0}'
}
run_wrk() { # scenario → "requests/s server-cores client-cores"
  local extra=() before after
  [ "$1" = handshake ] && extra=(-H 'Connection: close')
  before=$(server_ticks)
  /usr/bin/time -f "%e %U %S" -o "$work/time" $pin_client wrk -t1 -c"$CONNS" -d"${DURATION}s" "${extra[@]}" \
    https://127.0.0.1:9443/plaintext > "$work/wrk.out"
  after=$(server_ticks)
  # CPU over wrk's own run time (requests/s is measured over that too), not
  # over the process's elapsed time, which adds its start-up.
  read -r _elapsed user sys < "$work/time"
  awk -v b="$before" -v a="$after" -v d="$DURATION" -v u="$user" -v s="$sys" -v hz="$(getconf CLK_TCK)" \
    '/Requests\/sec/ {printf "%s %.3f %.3f\n", $2, (a - b) / hz / d, (u + s) / d}' "$work/wrk.out"
}
: > "$work/results"
for round in $(seq "$ROUNDS"); do
  for server in porter nginx; do
    start "$server"
    for scenario in keepalive handshake; do
      read -r rps server_cores client_cores <<< "$(run_wrk "$scenario")"
      echo "$server $scenario $rps $server_cores $client_cores" >> "$work/results"
      echo "round $round: $server $scenario $rps req/s (server $server_cores cores, wrk $client_cores)" >&2
    done
    stop
  done
done
python3 - "$work/results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
med = {}
for scenario in ("keepalive", "handshake"):
    for server in ("porter", "nginx"):
        runs = [r for r in rows if r[0] == server and r[1] == scenario]
        med[server, scenario] = [statistics.median(float(r[i]) for r in runs) for i in (2, 3, 4)]
        # requests per server CPU-second, per run, then the median
        med[server, scenario].append(statistics.median(float(r[2]) / max(float(r[3]), 1e-9) for r in runs))
print(f"{'scenario':<10} {'porter':>10} {'nginx':>10} {'ratio':>6}   {'server cores p/n':>17} {'wrk cores p/n':>14}"
      f"   {'req per server CPU-s p/n':>25} {'ratio':>6}")
for scenario in ("keepalive", "handshake"):
    p, n = med["porter", scenario], med["nginx", scenario]
    print(f"{scenario:<10} {p[0]:>10.0f} {n[0]:>10.0f} {p[0] / n[0]:>6.2f}   {p[1]:>8.2f} {n[1]:>8.2f} {p[2]:>7.2f} {n[2]:>6.2f}"
          f"   {p[3]:>12.0f} {n[3]:>12.0f} {p[3] / n[3]:>6.2f}")
PY
