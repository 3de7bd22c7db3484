#!/usr/bin/env bash
# Benchmarks porter side by side with nginx, h2o and `limit`, the canned-response
# ceiling (bench/peers/limit.c), with porter's own harness (bench/compare.py):
# every server on CPU 0, wrk on CPU 1, alternating rounds, medians and ratios.
# bench/README.md says what each scenario measures and how to read the table.
#
#   bench/run.sh                 # plaintext, pipelined (hello), static64k, idle (porter)
#   ROUNDS=5 DURATION=6 bench/run.sh
#   SCENARIOS=static1m PEERS=nginx bench/run.sh
#   ROUNDS=1 DURATION=1 SCENARIOS=plaintext PEERS=limit bench/run.sh    # smoke test
#
# Knobs: ROUNDS (3), DURATION (seconds per run, 4), SCENARIOS
# (plaintext,pipelined,static64k,idle; static1m too), PEERS (limit,nginx,h2o),
# IDLE_CONNS (5000). Installs wrk, nginx and h2o if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p porter-cli -p porter --examples --bins
exec python3 bench/compare.py run \
  --server "hello@plaintext,pipelined=target/release/examples/hello 127.0.0.1:{port} 1" \
  --server "porter@static64k,static1m,idle=target/release/porter --listen 127.0.0.1:{port} --root {root} --threads 1 --no-access-log" \
  --peers "${PEERS:-limit,nginx,h2o}" \
  --scenarios "${SCENARIOS:-plaintext,pipelined,static64k,idle}" \
  --rounds "${ROUNDS:-3}" --duration "${DURATION:-4}" --idle-conns "${IDLE_CONNS:-5000}"
