#!/usr/bin/env bash
# Runs porter's cargo-fuzz targets, each for a bounded time, and prints what
# each reached: executions, exec/s, coverage (libFuzzer's `cov:` = covered
# edges, `ft:` = features) and corpus size.
#
#   fuzz/run.sh [SECONDS] [TARGET...]     default: 60 s each for head, chunked, conn, proxy
#
# Targets (porter/src/fuzzing.rs has the invariants each asserts):
#   head     proto::parse::parse_head with framing rules, spans, prefixes
#   chunked  the chunked / length body decoders, arbitrary fragmentation
#   conn     the whole connection state machine over the scripted transport
#   proxy    the PROXY protocol v1/v2 decoder, every prefix of its input
#
# libFuzzer instrumentation needs nightly rustc flags (-Zsanitizer, ...). This
# script sets RUSTC_BOOTSTRAP=1, which lets a stable toolchain accept them, so
# no nightly is needed. Builds use --debug-assertions (arithmetic overflow
# panics, so it counts as a crash). The seed corpus is fuzz/seeds/<target>/
# (committed; regenerate with fuzz/make_seeds.py); libFuzzer's growing corpus
# is fuzz/corpus/<target>/ and crash inputs land in fuzz/artifacts/<target>/
# (both git-ignored). Replay a crash: 
#   RUSTC_BOOTSTRAP=1 cargo fuzz run --debug-assertions <target> fuzz/artifacts/<target>/<file>
# then turn it into a regression test (parse.rs / body.rs unit tests or
# porter/tests/conformance.rs).
set -uo pipefail

seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(head chunked conn proxy)

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz (cargo install cargo-fuzz)" >&2
    cargo install cargo-fuzz || exit 1
fi
for target in "${targets[@]}"; do
    cargo fuzz build --debug-assertions "$target" >&2 || exit 1
done

mkdir -p fuzz/logs
failed=()
printf '%-8s %8s %12s %10s %8s %8s %8s  %s\n' target seconds executions exec/s cov ft corpus result
for target in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$target"
    log="fuzz/logs/$target.log"
    cargo fuzz run --debug-assertions "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -dict=fuzz/http.dict -max_len=4096 -print_final_stats=1 \
        -timeout=10 -rss_limit_mb=2048 >"$log" 2>&1
    status=$?
    # The last status line looks like: #123456 DONE cov: 812 ft: 3456 corp: 400/20Kb ... exec/s: 9000 rss: 60Mb
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1)
    [ -n "$runs" ] || runs=$(sed -E 's/^#([0-9]+).*/\1/' <<<"$last")
    field() { grep -oE "$1: *[0-9]+" <<<"$last" | grep -oE '[0-9]+' | head -n 1; }
    result=ok
    if [ "$status" -ne 0 ]; then
        result="CRASH (exit $status; see $log and fuzz/artifacts/$target/)"
        failed+=("$target")
    fi
    printf '%-8s %8s %12s %10s %8s %8s %8s  %s\n' "$target" "$seconds" "${runs:-?}" "$(field exec/s)" \
        "$(field cov)" "$(field ft)" "$(field corp)" "$result"
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "crashes in: ${failed[*]}" >&2
    exit 1
fi
