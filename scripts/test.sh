#!/usr/bin/env bash
# Runs every test porter has, after installing what the tests need.
#
#   ./scripts/test.sh
#
# Installs (if missing, via apt-get): curl and python3, which the loopback tests
# use as real clients, prlimit (util-linux) for the overload test, cc, make,
# pkg-config and valgrind for the C examples, chromium for the browser test,
# openssl for the TLS tests, systemd-socket-activate (systemd) for socket
# activation and haproxy for the load-balancer test. Then: unit, property and
# loopback tests for the whole workspace, the bench harness's unit tests, the
# doc tests, `cargo doc` with warnings denied, and the C examples.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v curl >/dev/null || need+=(curl)
command -v python3 >/dev/null || need+=(python3)
# The browser test (porter-cli/tests/browser.rs) drives Debian's headless Chromium.
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v prlimit >/dev/null || need+=(util-linux)
command -v cc >/dev/null || need+=(gcc libc6-dev)          # the C examples
command -v make >/dev/null || need+=(make)
command -v pkg-config >/dev/null || need+=(pkg-config)
command -v valgrind >/dev/null || need+=(valgrind)
# The TLS tests (porter/tests/tls.rs) use `openssl s_client` for SNI and ALPN.
command -v openssl >/dev/null || need+=(openssl)
# The socket activation test (porter/tests/activation.rs) runs systemd-socket-activate.
command -v systemd-socket-activate >/dev/null || need+=(systemd)
# The load-balancer test (porter-cli/tests/haproxy.rs) puts HAProxy in front of two porters.
command -v haproxy >/dev/null || need+=(haproxy)
if ((${#need[@]})); then
  echo "installing test tools: ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

cargo build --workspace --all-targets --quiet
cargo test --workspace --quiet
python3 -m unittest discover -s bench -t bench -p 'test_*.py'   # the bench harness's pure parts
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
# The C API: examples/c built against the installed static library, checked with curl, once under valgrind.
porter-capi/tests/c-examples.sh
echo "all tests passed"
