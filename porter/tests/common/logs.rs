//! Every `log` record of a test binary, as "target message", for the tests
//! that check what porter logs (access lines, and what must never be logged).

use std::sync::{Mutex, Once};

static RECORDS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = format!("{} {}", record.target(), record.args());
        RECORDS.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    }

    fn flush(&self) {}
}

/// Starts capturing every level (once per binary) and returns the records so far.
pub fn captured() -> &'static Mutex<Vec<String>> {
    static START: Once = Once::new();
    START.call_once(|| {
        log::set_logger(&Capture).expect("no other logger in this test binary");
        log::set_max_level(log::LevelFilter::Trace);
    });
    &RECORDS
}
