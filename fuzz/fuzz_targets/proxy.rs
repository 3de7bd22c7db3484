//! Fuzz target `proxy`: the checks live in `porter::fuzzing::fuzz_proxy` (see its docs
//! for the input layout and the invariants asserted).

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| porter::fuzzing::fuzz_proxy(data));
