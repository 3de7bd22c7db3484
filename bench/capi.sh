#!/usr/bin/env bash
# The C module's cost: examples/c/hello (porter through its C ABI, built against
# the static library) against the Rust `hello` example, one thread each, side by
# side with compare.py on plaintext and pipelined (16 deep).
#
#   bench/capi.sh                     # 3 rounds of 4 s
#   ROUNDS=5 DURATION=6 bench/capi.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared/bench}
cargo build --release --quiet -p porter --examples
make -s -C porter-capi examples >/dev/null
exec python3 "$SHARED/compare.py" \
  --server "rust-hello=target/release/examples/hello 127.0.0.1:{port} 1" \
  --server "c-hello=target/c-examples/hello 127.0.0.1:{port}" \
  --peers "" --scenarios "${SCENARIOS:-plaintext,pipelined}" \
  --rounds "${ROUNDS:-3}" --duration "${DURATION:-4}"
