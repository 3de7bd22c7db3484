//! The access log's `log` crate destination calls the application's logger on
//! porter's log writer thread: a logger that panics on one line loses that
//! line only; the writer thread lives on and the next lines are logged.
//! (Its own test binary: a `log` logger is process-wide.)

mod common;

use std::sync::Mutex;

use common::{wait_until, Client};
use porter::{AccessLog, Request, Response, Server};

static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Panics on the access line of `/first`, keeps every other line.
struct PanicsOnFirst;

impl log::Log for PanicsOnFirst {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        let line = format!("{} {}", record.target(), record.args());
        if record.target() == "porter::access" && line.contains("/first") {
            panic!("logger panic (expected by the test)");
        }
        LINES.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    }

    fn flush(&self) {}
}

fn logged(needle: &str) -> bool {
    LINES.lock().unwrap().iter().any(|l| l.starts_with("porter::access") && l.contains(needle))
}

#[test]
fn a_panicking_logger_loses_one_line_not_the_log() {
    log::set_logger(&PanicsOnFirst).expect("the only logger of this binary");
    log::set_max_level(log::LevelFilter::Info);
    let server = Server::bind("127.0.0.1:0")
        .threads(1)
        .access_log(AccessLog::log_crate())
        .build(|_req: Request| Response::text("ok"))
        .expect("server builds")
        .spawn()
        .expect("server spawns");
    let mut c = Client::connect(server.local_addr());
    assert_eq!(c.round_trip("GET /first HTTP/1.1\r\nHost: t\r\n\r\n").text(), "ok");
    // The guard reports the panic through the logger too: it is the one record naming it.
    wait_until(
        || LINES.lock().unwrap().iter().any(|l| l.contains("logger (AccessLog::log_crate) panicked")),
        "the panic is logged",
    );
    assert_eq!(c.round_trip("GET /second HTTP/1.1\r\nHost: t\r\n\r\n").text(), "ok");
    wait_until(|| logged("/second"), "the line after the panic is logged");
    assert!(!logged("/first"));
}
