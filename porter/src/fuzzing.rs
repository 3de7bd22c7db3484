//! Entry points for the fuzz targets (feature `fuzzing`; not a public API).
//!
//! Owned by the hostile-input work (issue 7): the targets in `fuzz/` call these.
//! `conn::script::run_script` drives the real connection state machine over a
//! scripted transport and reports what it observed.
