//! `multipart/byteranges` bodies (RFC 9110 §14.6) for 206 replies to several ranges.
//!
//! The body is a [`Body::reader`] of exact length: part headers come from
//! memory and each part's bytes are read from the file with `pread` as the
//! client drains the connection, so memory stays bounded however large the
//! parts. A file that shrinks under a reply ends it with an error (porter then
//! closes the connection: the promised length cannot be met).
//!
//! Shape, per RFC 2046 §5.1.1: for each part `--B CRLF Content-Type CRLF
//! Content-Range CRLF CRLF data CRLF`, then `--B-- CRLF`. The boundary is
//! random per reply, so file content cannot forge a delimiter.

use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::response::Body;

use super::range::ByteRange;
use super::source::Content;

/// A multipart body and the `Content-Type` header that names its boundary.
pub(super) struct Multipart {
    pub(super) content_type: String,
    pub(super) body: Body,
}

/// Builds the body for `parts` of `content` (`complete` bytes of type `part_type`).
pub(super) fn multipart(content: Content, parts: &[ByteRange], complete: u64, part_type: &str) -> Multipart {
    let boundary = boundary();
    let mut pieces = VecDeque::with_capacity(parts.len() * 2 + 1);
    let mut len = 0u64;
    let mut text = String::new();
    for part in parts {
        text.push_str(&format!(
            "--{boundary}\r\nContent-Type: {part_type}\r\nContent-Range: {}\r\n\r\n",
            part.content_range(complete)
        ));
        len += text.len() as u64 + part.len();
        pieces.push_back(Piece::Text(io::Cursor::new(std::mem::take(&mut text).into_bytes())));
        pieces.push_back(Piece::Data { offset: part.first, remaining: part.len() });
        text.push_str("\r\n");
    }
    text.push_str(&format!("--{boundary}--\r\n"));
    len += text.len() as u64;
    pieces.push_back(Piece::Text(io::Cursor::new(text.into_bytes())));
    let reader = PartsReader { content, pieces };
    Multipart {
        content_type: format!("multipart/byteranges; boundary={boundary}"),
        body: Body::reader(reader, Some(len)),
    }
}

/// A fresh boundary: 64 random bits (std's per-process random hash keys, mixed
/// with a counter), well within RFC 2046's 70 characters.
fn boundary() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("porter-{:016x}", hasher.finish())
}

enum Piece {
    Text(io::Cursor<Vec<u8>>),
    Data { offset: u64, remaining: u64 },
}

struct PartsReader {
    content: Content,
    pieces: VecDeque<Piece>,
}

impl Read for PartsReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(piece) = self.pieces.front_mut() {
            let n = match piece {
                Piece::Text(cursor) => cursor.read(buf)?,
                Piece::Data { remaining: 0, .. } => 0,
                Piece::Data { offset, remaining } => {
                    let want = buf.len().min(usize::try_from(*remaining).unwrap_or(usize::MAX));
                    let n = read_at(&self.content, &mut buf[..want], *offset)?;
                    if n == 0 {
                        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank during a range reply"));
                    }
                    *offset += n as u64;
                    *remaining -= n as u64;
                    n
                }
            };
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            self.pieces.pop_front();
        }
        Ok(0)
    }
}

fn read_at(content: &Content, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    match content {
        Content::File(file) => file.read_at(buf, offset),
        Content::Memory(bytes) => {
            let start = usize::try_from(offset).unwrap_or(usize::MAX).min(bytes.len());
            let n = buf.len().min(bytes.len() - start);
            buf[..n].copy_from_slice(&bytes[start..start + n]);
            Ok(n)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn collect(m: Multipart) -> (String, Vec<u8>, Option<u64>) {
        let len = m.body.len();
        let crate::response::BodyKind::Reader { mut reader, .. } = m.body.0 else { panic!("not a reader") };
        let mut out = Vec::new();
        let mut small = [0u8; 7]; // odd-sized reads cross every piece boundary
        loop {
            let n = reader.read(&mut small).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&small[..n]);
        }
        (m.content_type, out, len)
    }

    #[test]
    fn parts_are_framed_and_the_length_is_exact() {
        let content = Content::Memory(Bytes::from_static(b"0123456789abcdefghij"));
        let parts = [ByteRange { first: 0, last: 2 }, ByteRange { first: 15, last: 19 }];
        let (content_type, body, len) = collect(multipart(content, &parts, 20, "text/plain"));
        let boundary = content_type.strip_prefix("multipart/byteranges; boundary=").unwrap();
        let want = format!(
            "--{boundary}\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-2/20\r\n\r\n012\r\n\
             --{boundary}\r\nContent-Type: text/plain\r\nContent-Range: bytes 15-19/20\r\n\r\nfghij\r\n\
             --{boundary}--\r\n"
        );
        assert_eq!(String::from_utf8(body.clone()).unwrap(), want);
        assert_eq!(len, Some(body.len() as u64));
    }

    #[test]
    fn files_are_read_in_place_and_shrinking_is_an_error() {
        let path = std::env::temp_dir().join(format!("porter-multipart-{}", std::process::id()));
        std::fs::write(&path, b"hello, world").unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let parts = [ByteRange { first: 0, last: 4 }, ByteRange { first: 7, last: 11 }];
        let (_, body, _) = collect(multipart(Content::File(file), &parts, 12, "text/plain"));
        let text = String::from_utf8(body).unwrap();
        assert!(text.contains("\r\n\r\nhello\r\n") && text.contains("\r\n\r\nworld\r\n"), "{text}");

        let file = std::fs::File::open(&path).unwrap();
        let m = multipart(Content::File(file), &parts, 12, "text/plain");
        std::fs::write(&path, b"hello").unwrap(); // truncated under the reply
        let crate::response::BodyKind::Reader { mut reader, .. } = m.body.0 else { panic!() };
        let mut sink = Vec::new();
        let err = reader.read_to_end(&mut sink).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn boundaries_differ() {
        assert_ne!(boundary(), boundary());
        assert!(boundary().len() <= 70);
    }
}
