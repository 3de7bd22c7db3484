#!/usr/bin/env bash
# The cost of answering later: the `hello` example answering every request on the
# loop ("hello") against the same server answering each from a pool thread
# through the loop's inbox ("deferred"), side by side with compare.py.
#
#   bench/deferred.sh                 # plaintext and pipelined, 3 rounds
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared/bench}
cargo build --release --quiet -p porter --examples
exec python3 "$SHARED/compare.py" \
  --server "hello=target/release/examples/hello 127.0.0.1:{port} 1" \
  --server "deferred=target/release/examples/hello 127.0.0.1:{port} 1 deferred" \
  --peers "" --scenarios "${SCENARIOS:-plaintext,pipelined}" \
  --rounds "${ROUNDS:-3}" --duration "${DURATION:-4}"
