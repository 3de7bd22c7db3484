//! The only module with `unsafe`: reading what C hands over (C strings, byte
//! buffers, file descriptors) and the few `Send`/`Sync` promises porter needs
//! from C.
//!
//! Handles never come through here: they cross the ABI as `Option<&T>`,
//! `Option<&mut T>` and `Option<Box<T>>`, which Rust guarantees to have the
//! layout of a nullable pointer, so a null handle is `None` and no `unsafe` is
//! needed to use one. What remains are raw pointers whose validity only the C
//! caller can promise; `porter.h` states each promise, and every helper here
//! turns a null pointer into `PORTER_ERR_NULL` before relying on it.

use std::ffi::CStr;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::raw::{c_char, c_int, c_void};
use std::thread::{self, ThreadId};

use crate::error::{Error, Result};

/// The C string argument `what` as UTF-8 text.
///
/// Contract (porter.h): a non-null `ptr` points at a NUL-terminated string
/// that stays unchanged for the duration of the call that passed it.
pub(crate) fn str_arg<'a>(ptr: *const c_char, what: &str) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(Error::null(what));
    }
    // SAFETY: non-null, and by the header's contract NUL-terminated and valid
    // for the duration of this call, which outlives every use of the result.
    let text = unsafe { CStr::from_ptr(ptr) };
    text.to_str().map_err(|_| Error::invalid(format!("{what} is not valid UTF-8")))
}

/// The C string argument `what`, without its NUL, as bytes that live as long
/// as the program (the caller checks them: header rules are about bytes).
///
/// Contract (porter.h, for the `_static` functions): a non-null `ptr` points at
/// a NUL-terminated string that stays valid and unchanged until the program
/// ends (a string literal).
pub(crate) fn static_bytes_arg(ptr: *const c_char, what: &str) -> Result<&'static [u8]> {
    if ptr.is_null() {
        return Err(Error::null(what));
    }
    // SAFETY: non-null, and by the header's contract NUL-terminated, valid and
    // unchanged for the rest of the program, so a 'static borrow is sound.
    Ok(unsafe { CStr::from_ptr(ptr) }.to_bytes())
}

/// The byte buffer argument `what`: `len` bytes at `ptr` (null allowed when `len` is 0).
///
/// Contract (porter.h): a non-null `ptr` points at `len` readable bytes that
/// stay unchanged for the duration of the call that passed them.
pub(crate) fn bytes_arg<'a>(ptr: *const c_void, len: usize, what: &str) -> Result<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Error::null(what));
    }
    if len > isize::MAX as usize {
        return Err(Error::invalid(format!("{what}: length too large")));
    }
    // SAFETY: non-null, `len` within isize::MAX, and by the header's contract
    // `len` readable bytes, unchanged while this call lasts.
    Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

/// The writable buffer argument `what`: `cap` bytes at `ptr`.
///
/// Contract (porter.h): a non-null `ptr` points at `cap` writable bytes that
/// nothing else touches during the call.
pub(crate) fn buf_arg<'a>(ptr: *mut c_void, cap: usize, what: &str) -> Result<&'a mut [u8]> {
    if cap == 0 {
        return Ok(&mut []);
    }
    if ptr.is_null() {
        return Err(Error::null(what));
    }
    if cap > isize::MAX as usize {
        return Err(Error::invalid(format!("{what}: capacity too large")));
    }
    // SAFETY: non-null, `cap` within isize::MAX, and by the header's contract
    // `cap` writable bytes used by no one else while this call lasts.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr.cast::<u8>(), cap) })
}

/// Copies `text` and a NUL into the caller's buffer `ptr` of `cap` bytes.
pub(crate) fn write_c_text(ptr: *mut c_char, cap: usize, text: &str, what: &str) -> Result<()> {
    let text = std::ffi::CString::new(text).map_err(|_| Error::invalid(format!("{what} holds a NUL")))?;
    let text = text.as_bytes_with_nul();
    let buf = buf_arg(ptr.cast(), cap, "buf")?;
    let dest = buf.get_mut(..text.len()).ok_or_else(|| Error::invalid(format!("buf is too small for the {what}")))?;
    dest.copy_from_slice(text);
    Ok(())
}

/// Takes ownership of the file descriptor `fd`.
///
/// Contract (porter.h): `fd` is an open descriptor the caller owns and hands
/// over; the caller will not use or close it again.
pub(crate) fn take_fd(fd: c_int) -> Result<OwnedFd> {
    if fd < 0 {
        return Err(Error::invalid("fd is negative"));
    }
    // SAFETY: non-negative, and by the header's contract an open descriptor
    // whose ownership the caller transfers to us.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// A C `void *user_data`, carried to whichever thread calls back.
///
/// porter calls handlers on its worker threads and free/cancel callbacks on
/// whatever thread drops the object, so the pointer must travel.
#[derive(Clone, Copy, Debug)]
pub(crate) struct UserData(pub(crate) *mut c_void);

// SAFETY: porter never dereferences the pointer; it only passes it back to the
// C callback registered with it. porter.h requires the C caller to make
// whatever `user_data` points at safe to use from the threads it documents
// (worker threads for handlers, any thread for free and cancel callbacks).
unsafe impl Send for UserData {}
// SAFETY: as above; one user_data may be passed to several worker threads at
// once, which porter.h states for route handlers.
unsafe impl Sync for UserData {}

/// A C free callback: `free(user_data)` is called once, from any thread.
pub type PorterFreeFn = Option<extern "C" fn(user_data: *mut c_void)>;

/// Bytes porter borrows from C until it has sent them, then gives back by
/// calling `free(user_data)` (once, from whichever thread drops the body).
pub(crate) struct BorrowedBytes {
    ptr: *const u8,
    len: usize,
    free: PorterFreeFn,
    user_data: UserData,
}

impl BorrowedBytes {
    /// Borrows `len` bytes at `ptr` until `free(user_data)` (or forever when
    /// `free` is null).
    ///
    /// Contract (porter.h, `porter_response_body_borrow`): the bytes stay valid
    /// and unchanged until porter calls `free`, or for the rest of the program
    /// when `free` is null.
    pub(crate) fn new(ptr: *const c_void, len: usize, free: PorterFreeFn, user_data: *mut c_void) -> Result<Self> {
        bytes_arg(ptr, len, "data")?;
        Ok(BorrowedBytes { ptr: ptr.cast(), len, free, user_data: UserData(user_data) })
    }

    /// With a null `free`, the bytes live for the rest of the program.
    pub(crate) fn as_static(&self) -> Option<&'static [u8]> {
        if self.free.is_some() {
            return None;
        }
        if self.len == 0 {
            return Some(&[]);
        }
        // SAFETY: checked non-null with `len` bytes in `new`; with no free
        // callback the header's contract says they are valid forever.
        Some(unsafe { std::slice::from_raw_parts(self.ptr, self.len) })
    }
}

impl AsRef<[u8]> for BorrowedBytes {
    fn as_ref(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: checked non-null with `len` bytes in `new`; the header's
        // contract keeps them valid until `free` runs, which is in our Drop,
        // after the last borrow of `self`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for BorrowedBytes {
    fn drop(&mut self) {
        if let Some(free) = self.free {
            let user_data = self.user_data.0;
            crate::error::in_callback("a body free callback", || free(user_data));
        }
    }
}

// SAFETY: the bytes are only read, never written, and porter.h requires them to
// stay valid and unchanged until `free` (which may run on any thread, as the
// header says). The pointer itself is just an address.
unsafe impl Send for BorrowedBytes {}
// SAFETY: shared access only reads immutable bytes (see Send).
unsafe impl Sync for BorrowedBytes {}

/// A value that may only be used on the thread that created it, checked at
/// run time, so the handle holding it can be shared with other threads (for
/// `porter_server_shutdown`) without those threads ever touching the value.
pub(crate) struct ThreadBound<T> {
    value: Option<T>,
    owner: ThreadId,
}

impl<T> ThreadBound<T> {
    pub(crate) fn new(value: T) -> Self {
        ThreadBound { value: Some(value), owner: thread::current().id() }
    }

    /// The value, or `PORTER_ERR_THREAD` on any other thread than its creator.
    pub(crate) fn get_mut(&mut self) -> Result<&mut T> {
        if thread::current().id() != self.owner {
            return Err(Error::new(
                crate::error::PORTER_ERR_THREAD,
                "an embedded server is used only on the thread that called porter_server_embed",
            ));
        }
        self.value.as_mut().ok_or_else(|| Error::state("the embedded server is gone"))
    }

    /// The value, on any thread, for read-only queries that touch no
    /// thread-affine state (the bound addresses).
    pub(crate) fn owner_is_current(&self) -> bool {
        thread::current().id() == self.owner
    }
}

impl<T> Drop for ThreadBound<T> {
    fn drop(&mut self) {
        if !self.owner_is_current() {
            // Dropping elsewhere would touch the value from a foreign thread:
            // leak it instead (the caller broke the documented rule; the
            // server was already told to stop).
            std::mem::forget(self.value.take());
        }
    }
}

// SAFETY: the wrapped value is reached only through `get_mut`, which checks
// that the current thread is the creator, and dropped only on the creator
// (otherwise leaked); other threads may hold and move the wrapper but never
// touch the value.
unsafe impl<T> Send for ThreadBound<T> {}
// SAFETY: `&ThreadBound` gives no access to the value at all.
unsafe impl<T> Sync for ThreadBound<T> {}
