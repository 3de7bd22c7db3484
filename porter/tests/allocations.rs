//! Heap allocations on the loop thread per keep-alive request, counted by a
//! global allocator: the hot path allocates what it must and no more (DESIGN:
//! no allocation per request beyond what the handler asks for, while idle
//! connections give their buffers back).
//!
//! Counted per request today, one at a time on a keep-alive connection:
//! the request's bytes (the read buffer, handed to the request whole), its
//! header index, the handler's header list, the reply queue and the output
//! buffer (one reserve each, given back at the end of every turn that leaves
//! them empty, as each of these requests does). The loop's once-a-second
//! `Date` formatting adds one now and then, hence the small allowance.
//!
//! One test per binary: the counter is process-wide.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{serve, Client};
use porter::{Request, Response};

/// Counts the allocations made on threads that asked to be counted.
struct Counting;

static LOOP_ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set by the handler, so only the loop thread that runs it is counted.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: every call is passed straight to the system allocator; the counting
// touches only an atomic and a const-initialised thread-local (no allocation).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract for `alloc` is forwarded unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above, for `dealloc`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: as above, for `realloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn count() {
    if COUNTED.try_with(Cell::get).unwrap_or(false) {
        LOOP_ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The handler allocates one thing: its header list.
fn plaintext(_req: Request) -> Response {
    COUNTED.with(|c| c.set(true));
    Response::new(200).header("Content-Type", "text/plain").body("Hello, World!")
}

#[test]
fn a_keep_alive_request_costs_five_allocations_on_the_loop() {
    const REQUESTS: usize = 200;
    let server = serve(plaintext);
    let mut c = Client::connect(server.local_addr());
    let request = "GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n";
    // Warm-up: the connection's own memory (slot, queues) is made once.
    for _ in 0..3 {
        assert_eq!(c.round_trip(request).status, 200);
    }
    let before = LOOP_ALLOCATIONS.load(Ordering::Relaxed);
    let started = std::time::Instant::now();
    for _ in 0..REQUESTS {
        assert_eq!(c.round_trip(request).body, b"Hello, World!");
    }
    let made = LOOP_ALLOCATIONS.load(Ordering::Relaxed) - before;
    // Five per request, plus the Date line's reformatting (one per second
    // started: a slow run is allowed its extra seconds, not a time limit).
    let date_lines = started.elapsed().as_secs() as usize + 2;
    assert!(made <= 5 * REQUESTS + date_lines, "{made} allocations for {REQUESTS} requests");
    assert!(made >= 4 * REQUESTS, "{made}: is the loop thread counted at all?");
}
