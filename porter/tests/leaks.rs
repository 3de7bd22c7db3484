//! No leaks through cancellation: thousands of deferred requests whose clients
//! vanish leave no file descriptor and no connection state behind, whether their
//! responders answer late or are dropped. (One test in its own binary, so the
//! process's fd count is not disturbed by other tests.)

mod common;

use std::net::TcpStream;
use std::sync::{mpsc, Mutex};

use common::{serve, wait_until, Client, SAFETY_TIMEOUT};
use porter::{Reply, Request, Response};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count()
}

#[test]
fn thousands_of_cancelled_requests_leave_nothing_behind() {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let server = serve(move |req: Request| -> Reply {
        let (reply, responder) = req.defer();
        tx.lock().expect("lock").send(responder).expect("test listens");
        reply
    });
    let addr = server.local_addr();
    // Warm up once so lazily created state (buffers, thread locals) exists before counting.
    let mut warm = Client::connect(addr);
    warm.send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    rx.recv_timeout(SAFETY_TIMEOUT).expect("deferred").respond(Response::text("ok"));
    assert_eq!(warm.read_reply().status, 200);
    drop(warm);
    wait_until(|| server.connections() == 0, "the warm-up connection is gone");
    let fds_before = open_fds();

    for batch in 0..20 {
        let clients: Vec<TcpStream> = (0..100)
            .map(|_| {
                let mut c = Client::connect(addr);
                c.send("GET /work HTTP/1.1\r\nHost: t\r\n\r\n");
                c.stream
            })
            .collect();
        let responders: Vec<_> = (0..100).map(|_| rx.recv_timeout(SAFETY_TIMEOUT).expect("deferred")).collect();
        drop(clients); // every client vanishes with its request pending
        wait_until(|| responders.iter().all(|r| r.is_cancelled()), "every pending request is cancelled");
        for (i, responder) in responders.into_iter().enumerate() {
            // Half answer too late, half are dropped (which answers 500 into the void).
            if (i + batch) % 2 == 0 {
                responder.respond(Response::text("too late"));
            }
        }
        wait_until(|| server.connections() == 0, "every closed connection is freed once answered");
    }
    wait_until(|| open_fds() <= fds_before, "the descriptors are back to where they started");
    assert_eq!(server.connections(), 0);
}
