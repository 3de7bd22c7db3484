#!/usr/bin/env bash
# Benchmarks porter side by side with nginx, h2o and the canned-response ceiling
# (../shared/bench/compare.py): one server core each, wrk on the other core,
# alternating rounds, medians and ratios.
#
#   bench/run.sh                 # plaintext, pipelined (hello), static64k, idle (porter)
#   ROUNDS=5 DURATION=6 bench/run.sh
#   SCENARIOS=plaintext bench/run.sh
#
# Needs ../shared/bench beside the repository; installs wrk, nginx and h2o if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared/bench}
[ -f "$SHARED/compare.py" ] || { echo "bench: $SHARED/compare.py not found" >&2; exit 1; }
cargo build --release --quiet -p porter-cli -p porter --examples --bins
exec python3 "$SHARED/compare.py" \
  --server "hello@plaintext,pipelined=target/release/examples/hello 127.0.0.1:{port} 1" \
  --server "porter@static64k,static1m,idle=target/release/porter --listen 127.0.0.1:{port} --root {root} --threads 1 --no-access-log" \
  --peers "${PEERS:-limit,nginx,h2o}" \
  --scenarios "${SCENARIOS:-plaintext,pipelined,static64k,idle}" \
  --rounds "${ROUNDS:-3}" --duration "${DURATION:-4}" --idle-conns "${IDLE_CONNS:-5000}"
