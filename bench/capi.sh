#!/usr/bin/env bash
# The C module's cost: examples/c/hello (porter through its C ABI, built against
# the static library) against the Rust `hello` example, one thread each, side by
# side with porter's harness (bench/compare.py) on plaintext and pipelined (16
# deep). The ratio column is C / Rust.
#
#   bench/capi.sh                     # 3 rounds of 4 s
#   ROUNDS=5 DURATION=6 bench/capi.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet -p porter --examples
make -s -C porter-capi examples >/dev/null
exec python3 bench/compare.py run \
  --server "c-hello=target/c-examples/hello 127.0.0.1:{port}" \
  --server "rust-hello=target/release/examples/hello 127.0.0.1:{port} 1" \
  --peers "" --scenarios "${SCENARIOS:-plaintext,pipelined}" \
  --rounds "${ROUNDS:-3}" --duration "${DURATION:-4}"
