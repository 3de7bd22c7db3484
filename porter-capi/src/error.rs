//! Status codes, the thread-local last-error message, and the guard every
//! entry point runs in.
//!
//! Invariants: a failing call stores its message on the calling thread before
//! it returns its (negative) code; a successful call leaves the message alone,
//! like `errno`. `guard` catches any panic, so none unwinds into C: a panic
//! becomes `PORTER_ERR_PANIC` with its message.

use std::cell::RefCell;
use std::ffi::CString;
use std::io;
use std::os::raw::{c_char, c_int};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Success.
pub const PORTER_OK: c_int = 0;
/// `porter_server_run_once`: the server has stopped (after a shutdown).
pub const PORTER_DONE: c_int = 1;
/// A required pointer argument was null.
pub const PORTER_ERR_NULL: c_int = -1;
/// An argument was invalid (bad UTF-8, bad address, bad header, out of range).
pub const PORTER_ERR_INVALID: c_int = -2;
/// A system call failed (bind, open, read); the message says which and why.
pub const PORTER_ERR_IO: c_int = -3;
/// The object is in the wrong state for this call (already answered, already
/// started, not embedded, ...).
pub const PORTER_ERR_STATE: c_int = -4;
/// The thing asked for is not there (a header, the query, a parameter).
pub const PORTER_ERR_NOT_FOUND: c_int = -5;
/// The client is gone: a streamed body can take no more data.
pub const PORTER_ERR_CLOSED: c_int = -6;
/// Called from a thread this object does not belong to (embedded servers).
pub const PORTER_ERR_THREAD: c_int = -7;
/// A bug inside porter was caught before it could cross into C.
pub const PORTER_ERR_PANIC: c_int = -8;
/// Not available in this build (e.g. TLS).
pub const PORTER_ERR_UNSUPPORTED: c_int = -9;

/// A failure on its way to C: a code and a message.
#[derive(Debug)]
pub(crate) struct Error {
    code: c_int,
    message: String,
}

/// What the crate's internal functions return.
pub(crate) type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn new(code: c_int, message: impl Into<String>) -> Error {
        Error { code, message: message.into() }
    }

    pub(crate) fn null(what: &str) -> Error {
        Error::new(PORTER_ERR_NULL, format!("{what} is null"))
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::new(PORTER_ERR_INVALID, message)
    }

    pub(crate) fn state(message: impl Into<String>) -> Error {
        Error::new(PORTER_ERR_STATE, message)
    }

    pub(crate) fn io(context: &str, e: &io::Error) -> Error {
        Error::new(PORTER_ERR_IO, format!("{context}: {e}"))
    }
}

/// The handle argument `what`, or `PORTER_ERR_NULL`.
pub(crate) fn need<T>(arg: Option<T>, what: &str) -> Result<T> {
    arg.ok_or_else(|| Error::null(what))
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    let clean: Vec<u8> = message.bytes().filter(|&b| b != 0).collect();
    let text = CString::new(clean).unwrap_or_default();
    // `try_with`: during thread teardown the slot may be gone; then the
    // message is lost but the code still says what happened.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = text);
}

/// Records `e` for `porter_last_error` and returns its code.
pub(crate) fn fail(e: Error) -> c_int {
    set_last_error(&e.message);
    e.code
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    format!("internal error (panic): {text}")
}

/// Runs an entry point's body: its code on success, the error's code (message
/// stored) on failure, `PORTER_ERR_PANIC` if it panicked.
pub(crate) fn guard(body: impl FnOnce() -> Result<c_int>) -> c_int {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => fail(e),
        Err(payload) => fail(Error::new(PORTER_ERR_PANIC, panic_message(&*payload))),
    }
}

/// [`guard`] for entry points that hand back a new object: null on failure.
pub(crate) fn guard_new<T>(body: impl FnOnce() -> Result<Box<T>>) -> Option<Box<T>> {
    let mut made = None;
    let code = guard(|| {
        made = Some(body()?);
        Ok(PORTER_OK)
    });
    debug_assert!(made.is_some() == (code == PORTER_OK));
    made
}

/// Runs a trampoline's Rust side (around a C callback) with panics caught and
/// logged: nothing may unwind into (or out of) C.
pub(crate) fn in_callback<T>(what: &str, body: impl FnOnce() -> T) -> Option<T> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => Some(value),
        Err(payload) => {
            set_last_error(&panic_message(&*payload));
            eprintln!("porter: panic caught in {what}: {}", panic_message(&*payload));
            None
        }
    }
}

/// The message of the last call that failed on this thread ("" if none).
///
/// Ownership: the string belongs to porter and stays valid until the next
/// failing porter call on the same thread; copy it to keep it.
/// Thread-safety: per thread; any thread may call it.
#[no_mangle]
pub extern "C" fn porter_last_error() -> *const c_char {
    LAST_ERROR.try_with(|slot| slot.borrow().as_ptr()).unwrap_or(c"".as_ptr())
}

/// A short constant name for a status code, e.g. `"PORTER_ERR_NULL"`.
///
/// Ownership: a static string; never free it. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn porter_status_name(code: c_int) -> *const c_char {
    let name = match code {
        PORTER_OK => c"PORTER_OK",
        PORTER_DONE => c"PORTER_DONE",
        PORTER_ERR_NULL => c"PORTER_ERR_NULL",
        PORTER_ERR_INVALID => c"PORTER_ERR_INVALID",
        PORTER_ERR_IO => c"PORTER_ERR_IO",
        PORTER_ERR_STATE => c"PORTER_ERR_STATE",
        PORTER_ERR_NOT_FOUND => c"PORTER_ERR_NOT_FOUND",
        PORTER_ERR_CLOSED => c"PORTER_ERR_CLOSED",
        PORTER_ERR_THREAD => c"PORTER_ERR_THREAD",
        PORTER_ERR_PANIC => c"PORTER_ERR_PANIC",
        PORTER_ERR_UNSUPPORTED => c"PORTER_ERR_UNSUPPORTED",
        _ => c"PORTER_UNKNOWN",
    };
    name.as_ptr()
}

/// porter's version, e.g. `"0.1.0"`.
///
/// Ownership: a static string; never free it. Thread-safety: any thread.
#[no_mangle]
pub extern "C" fn porter_version() -> *const c_char {
    const VERSION: &std::ffi::CStr =
        match std::ffi::CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => c"unknown",
        };
    VERSION.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last() -> String {
        // SAFETY (test): porter_last_error returns a valid NUL-terminated string.
        unsafe { CStr::from_ptr(porter_last_error()) }.to_string_lossy().into_owned()
    }

    #[test]
    fn failure_sets_code_and_message() {
        assert_eq!(guard(|| Err(Error::invalid("bad thing"))), PORTER_ERR_INVALID);
        assert_eq!(last(), "bad thing");
        assert_eq!(guard(|| Ok(PORTER_OK)), PORTER_OK);
        assert_eq!(last(), "bad thing", "success leaves the message");
    }

    #[test]
    fn panic_becomes_a_code() {
        assert_eq!(guard(|| panic!("boom")), PORTER_ERR_PANIC);
        assert!(last().contains("boom"));
        assert!(guard_new::<u8>(|| panic!("again")).is_none());
    }
}
