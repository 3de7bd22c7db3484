//! sendfile(2): file bytes go from the page cache to the socket without a copy
//! through user space. Plain TCP only (TLS must encrypt in user space).

use std::fs::File;
use std::io;
use std::os::fd::AsFd;

/// Sends up to `len` bytes of `file` starting at `*offset` to `socket`, advancing
/// `*offset` by the amount sent. Returns 0 only at end of file.
pub(crate) fn send_file(socket: impl AsFd, file: &File, offset: &mut u64, len: usize) -> io::Result<usize> {
    // The kernel caps one call at 0x7ffff000 bytes anyway; asking for more is pointless.
    let len = len.min(0x7fff_f000);
    Ok(rustix::fs::sendfile(socket, file, Some(offset), len)?)
}
