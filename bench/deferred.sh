#!/usr/bin/env bash
# The cost of answering later: the `hello` example answering each request from a
# pool thread through the loop's inbox ("deferred") against the same server
# answering every request on the loop ("hello"), side by side with porter's
# harness (bench/compare.py). The ratio column is deferred / hello.
#
#   bench/deferred.sh                 # plaintext and pipelined, 3 rounds
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p porter --examples
exec python3 bench/compare.py run \
  --server "deferred=target/release/examples/hello 127.0.0.1:{port} 1 deferred" \
  --server "hello=target/release/examples/hello 127.0.0.1:{port} 1" \
  --peers "" --scenarios "${SCENARIOS:-plaintext,pipelined}" \
  --rounds "${ROUNDS:-3}" --duration "${DURATION:-4}"
