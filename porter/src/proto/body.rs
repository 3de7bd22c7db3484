//! Request body decoders: `Content-Length` and `chunked` (RFC 9112 §6.3, §7.1).
//!
//! A [`Decoder`] turns the bytes after a request head into body data, one call
//! at a time, over whatever pieces the socket delivers.
//!
//! Invariants:
//! - No buffering and no look-back: the decoder keeps a few words of state and
//!   decides every byte when it arrives, so input split at any position decodes
//!   exactly as input given at once.
//! - It never consumes a byte past the end of the body: a pipelined request
//!   after it stays in the caller's buffer.
//! - `consumed` never exceeds the input, and data ranges lie within the consumed part.
//! - Pure and total: no I/O, no `unsafe`, no panic whatever the bytes. An error
//!   is final; the caller answers [`BodyError::status`] (or, for a body it was
//!   only draining, just closes) and closes the connection.
//! - Chunk extensions are validated and ignored; trailer fields are validated
//!   and discarded (porter's `Request` has no trailers).

use std::fmt;
use std::ops::Range;

use super::parse::is_tchar;

/// Bounds on the framing of a chunked body.
#[derive(Clone, Copy, Debug)]
pub struct ChunkedLimits {
    /// Longest chunk-size line (size plus extensions, without CRLF) in bytes.
    pub max_chunk_line: usize,
    /// Largest trailer section in bytes: its field lines with their CRLFs, not
    /// counting the final empty line.
    pub max_trailers: usize,
}

impl Default for ChunkedLimits {
    fn default() -> Self {
        ChunkedLimits { max_chunk_line: 4096, max_trailers: 8192 }
    }
}

/// Why a body could not be decoded. Every error is final: the connection closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyError {
    /// A chunk size that is not `1*HEXDIG`, or whitespace after it not followed by `;`.
    BadChunkSize,
    /// A chunk size of more than 16 hex digits.
    ChunkSizeOverflow,
    /// A chunk-size line longer than `max_chunk_line`.
    ChunkLineTooLong,
    /// A chunk extension that is not `; name [= token / quoted-string]`.
    BadChunkExtension,
    /// Chunk data not followed by CRLF.
    MissingChunkCrlf,
    /// A line ending in LF without CR.
    BareLf,
    /// A CR not followed by LF.
    BareCr,
    /// A trailer line that is not `token ":" value` with a value free of controls.
    BadTrailer,
    /// A trailer field that would change framing or routing (Content-Length,
    /// Transfer-Encoding, Host: RFC 9110 §6.5.1).
    ForbiddenTrailer,
    /// A trailer section larger than `max_trailers`.
    TrailersTooLarge,
}

impl BodyError {
    /// The status code to answer with: 400 for all, `TrailersTooLarge` included
    /// (it is a malformed body, not a large head; porter's `Limits` says 400).
    pub fn status(self) -> u16 {
        400
    }

    /// Short human text for logs and the error body.
    pub fn reason(self) -> &'static str {
        match self {
            BodyError::BadChunkSize => "invalid chunk size",
            BodyError::ChunkSizeOverflow => "chunk size too large",
            BodyError::ChunkLineTooLong => "chunk-size line too long",
            BodyError::BadChunkExtension => "invalid chunk extension",
            BodyError::MissingChunkCrlf => "chunk data not followed by CRLF",
            BodyError::BareLf => "line ending without CR",
            BodyError::BareCr => "CR without LF",
            BodyError::BadTrailer => "invalid trailer field",
            BodyError::ForbiddenTrailer => "forbidden trailer field",
            BodyError::TrailersTooLarge => "trailer section too large",
        }
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for BodyError {}

/// One step of decoding: `consumed` input bytes; body data is `input[data]`
/// (may be empty, then it is `0..0`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Input bytes used up; the caller drops them before the next call.
    pub consumed: usize,
    /// Where this step's body data lies in the input.
    pub data: Range<usize>,
}

/// Incremental decoder for one request body; holds only a few words of state (no buffering).
#[derive(Clone, Debug)]
pub enum Decoder {
    /// A body of known length (RFC 9112 §6.3 rule 6).
    Length {
        /// Body bytes not yet received.
        remaining: u64,
    },
    /// A chunked body (RFC 9112 §7.1).
    Chunked(ChunkedDecoder),
}

impl Decoder {
    /// A decoder for `Content-Length: n`.
    pub fn length(n: u64) -> Self {
        Decoder::Length { remaining: n }
    }

    /// A decoder for `Transfer-Encoding: chunked`.
    pub fn chunked(limits: ChunkedLimits) -> Self {
        Decoder::Chunked(ChunkedDecoder::new(limits))
    }

    /// Decode from `input`. Returns at most one contiguous data run per call. The caller loops:
    /// call again on input[consumed..] until consumed == 0 (needs more bytes) or is_done().
    /// Never consumes bytes past the end of the body (pipelined next request stays in input).
    pub fn decode(&mut self, input: &[u8]) -> Result<Step, BodyError> {
        match self {
            Decoder::Length { remaining } => {
                // The cast is lossless: the minimum is at most input.len().
                let n = (*remaining).min(input.len() as u64) as usize;
                *remaining -= n as u64;
                Ok(Step { consumed: n, data: 0..n })
            }
            Decoder::Chunked(chunked) => chunked.decode(input),
        }
    }

    /// True once the whole body, and nothing more, has been consumed.
    pub fn is_done(&self) -> bool {
        match self {
            Decoder::Length { remaining } => *remaining == 0,
            Decoder::Chunked(chunked) => chunked.state == State::Done,
        }
    }

    /// Body bytes still expected, if known (Length: remaining; Chunked: None).
    pub fn remaining_hint(&self) -> Option<u64> {
        match self {
            Decoder::Length { remaining } => Some(*remaining),
            Decoder::Chunked(_) => None,
        }
    }
}

/// Where a chunked decoder stands (RFC 9112 §7.1 grammar positions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// In `chunk-size` (hex digits).
    Size,
    /// BWS after the size: only more BWS or `;` may follow.
    SizeBws,
    /// After `;` (and BWS): an extension name must start.
    ExtBeforeName,
    /// In an extension name: the line may end here.
    ExtName,
    /// BWS after an extension name: `=` or `;` must follow.
    ExtAfterName,
    /// After `=` (and BWS): a token or quoted string must start.
    ExtBeforeValue,
    /// In a token value: the line may end here.
    ExtToken,
    /// Inside a quoted string.
    ExtQuoted,
    /// After `\` inside a quoted string.
    ExtQuotedPair,
    /// Just after a closing quote: the line may end here.
    ExtAfterQuoted,
    /// BWS after a value: only more BWS or `;` may follow.
    ExtAfterValue,
    /// The CR of the chunk-size line seen: LF must follow.
    SizeLf,
    /// Inside chunk data.
    Data { remaining: u64 },
    /// After chunk data: CR must follow.
    DataCr,
    /// After chunk data and CR: LF must follow.
    DataLf,
    /// At the start of a trailer line or the final empty line.
    TrailerStart,
    /// In a trailer field name.
    TrailerName,
    /// In a trailer field value.
    TrailerValue,
    /// The CR of a trailer line seen: LF must follow.
    TrailerLf,
    /// The CR of the final empty line seen: LF must follow.
    FinalLf,
    /// The body is complete.
    Done,
}

/// Trailer fields that must not appear: they would change how the message is
/// framed or routed if some recipient merged them into the head (RFC 9110 §6.5.1).
const FORBIDDEN_TRAILERS: [&[u8]; 3] = [b"content-length", b"transfer-encoding", b"host"];

/// The chunked decoder's state; used only through [`Decoder`].
#[derive(Clone, Debug)]
pub struct ChunkedDecoder {
    state: State,
    limits: ChunkedLimits,
    /// The chunk size read so far, and how many hex digits it had.
    size: u64,
    size_digits: u8,
    /// Bytes of the current chunk-size line so far.
    line_len: usize,
    /// Bytes of the trailer section so far.
    trailer_len: usize,
    /// Length of the current trailer name, and which forbidden names it still
    /// matches (bit i for `FORBIDDEN_TRAILERS[i]`).
    name_len: usize,
    name_candidates: u8,
}

impl ChunkedDecoder {
    fn new(limits: ChunkedLimits) -> Self {
        ChunkedDecoder {
            state: State::Size,
            limits,
            size: 0,
            size_digits: 0,
            line_len: 0,
            trailer_len: 0,
            name_len: 0,
            name_candidates: 0,
        }
    }

    fn decode(&mut self, input: &[u8]) -> Result<Step, BodyError> {
        let mut pos = 0;
        while let Some(&byte) = input.get(pos) {
            match self.state {
                State::Done => break,
                State::Data { remaining } => {
                    let n = remaining.min((input.len() - pos) as u64);
                    self.state = if n == remaining { State::DataCr } else { State::Data { remaining: remaining - n } };
                    // The cast is lossless: n is at most input.len() - pos.
                    let end = pos + n as usize;
                    return Ok(Step { consumed: end, data: pos..end });
                }
                _ => self.on_byte(byte)?,
            }
            pos += 1;
        }
        Ok(Step { consumed: pos, data: 0..0 })
    }

    /// Advances over one framing byte (anything but chunk data).
    fn on_byte(&mut self, b: u8) -> Result<(), BodyError> {
        match self.state {
            State::SizeLf => {
                expect_lf(b)?;
                // RFC 9112 §7.1: the chunk of size 0 is the last, a trailer section follows.
                self.state = if self.size == 0 { State::TrailerStart } else { State::Data { remaining: self.size } };
            }
            State::DataCr => {
                self.state = match b {
                    b'\r' => State::DataLf,
                    b'\n' => return Err(BodyError::BareLf),
                    _ => return Err(BodyError::MissingChunkCrlf),
                };
            }
            State::DataLf => {
                expect_lf(b)?;
                self.start_size_line();
            }
            State::TrailerStart | State::TrailerName | State::TrailerValue | State::TrailerLf => {
                self.on_trailer_byte(b)?
            }
            State::FinalLf => {
                expect_lf(b)?;
                self.state = State::Done;
            }
            // `decode` handles data and the end itself.
            State::Data { .. } | State::Done => {}
            _ => self.on_size_line_byte(b)?,
        }
        Ok(())
    }

    fn start_size_line(&mut self) {
        self.state = State::Size;
        self.size = 0;
        self.size_digits = 0;
        self.line_len = 0;
    }

    /// RFC 9112 §7.1: `chunk-size [ chunk-ext ] CRLF`.
    fn on_size_line_byte(&mut self, b: u8) -> Result<(), BodyError> {
        match b {
            b'\r' => {
                self.state = self.end_size_line()?;
                return Ok(());
            }
            b'\n' => return Err(BodyError::BareLf),
            _ => {}
        }
        self.line_len += 1;
        if self.line_len > self.limits.max_chunk_line {
            return Err(BodyError::ChunkLineTooLong);
        }
        self.state = match self.state {
            State::Size => self.on_size_char(b)?,
            state => next_ext_state(state, b)?,
        };
        Ok(())
    }

    /// The state after the CR ending a chunk-size line, if the line may end here.
    fn end_size_line(&self) -> Result<State, BodyError> {
        match self.state {
            State::Size if self.size_digits > 0 => Ok(State::SizeLf),
            State::Size | State::SizeBws => Err(BodyError::BadChunkSize),
            State::ExtName | State::ExtToken | State::ExtAfterQuoted => Ok(State::SizeLf),
            _ => Err(BodyError::BadChunkExtension),
        }
    }

    /// `chunk-size = 1*HEXDIG`: no sign, no `0x`, no leading whitespace.
    fn on_size_char(&mut self, b: u8) -> Result<State, BodyError> {
        if let Some(digit) = hex_value(b) {
            // 16 hex digits fill a u64 exactly, so the shift below never overflows;
            // more digits (even leading zeros) are refused.
            if self.size_digits == 16 {
                return Err(BodyError::ChunkSizeOverflow);
            }
            self.size_digits += 1;
            self.size = (self.size << 4) | digit;
            return Ok(State::Size);
        }
        match b {
            _ if self.size_digits == 0 => Err(BodyError::BadChunkSize),
            b';' => Ok(State::ExtBeforeName),
            b' ' | b'\t' => Ok(State::SizeBws),
            _ => Err(BodyError::BadChunkSize),
        }
    }

    /// RFC 9112 §7.1.2: `trailer-section = *( field-line CRLF )`, then CRLF.
    fn on_trailer_byte(&mut self, b: u8) -> Result<(), BodyError> {
        if !(self.state == State::TrailerStart && b == b'\r') {
            self.trailer_len += 1;
            if self.trailer_len > self.limits.max_trailers {
                return Err(BodyError::TrailersTooLarge);
            }
        }
        self.state = match (self.state, b) {
            (State::TrailerLf, b'\n') => State::TrailerStart,
            (State::TrailerLf, _) => return Err(BodyError::BareCr),
            (_, b'\n') => return Err(BodyError::BareLf),
            (State::TrailerStart, b'\r') => State::FinalLf,
            (State::TrailerStart, _) if is_tchar(b) => {
                self.name_len = 0;
                self.name_candidates = (1 << FORBIDDEN_TRAILERS.len()) - 1;
                self.on_name_char(b)
            }
            (State::TrailerName, _) if is_tchar(b) => self.on_name_char(b),
            (State::TrailerName, b':') if self.is_forbidden_name() => return Err(BodyError::ForbiddenTrailer),
            (State::TrailerName, b':') => State::TrailerValue,
            (State::TrailerValue, b'\r') => State::TrailerLf,
            // RFC 9110 §5.5: field values hold no controls but HTAB (obs-text allowed).
            (State::TrailerValue, _) if b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80 => State::TrailerValue,
            // A line starting with whitespace (obs-fold, RFC 9112 §5.2), a name
            // without a colon, whitespace before the colon, or a control byte.
            _ => return Err(BodyError::BadTrailer),
        };
        Ok(())
    }

    /// Notes one byte of a trailer name, keeping the forbidden names it still matches.
    fn on_name_char(&mut self, b: u8) -> State {
        let lower = b.to_ascii_lowercase();
        for (i, name) in FORBIDDEN_TRAILERS.iter().enumerate() {
            if name.get(self.name_len) != Some(&lower) {
                self.name_candidates &= !(1 << i);
            }
        }
        self.name_len = self.name_len.saturating_add(1);
        State::TrailerName
    }

    fn is_forbidden_name(&self) -> bool {
        FORBIDDEN_TRAILERS
            .iter()
            .enumerate()
            .any(|(i, name)| self.name_candidates & (1 << i) != 0 && name.len() == self.name_len)
    }
}

/// RFC 9112 §7.1.1: `chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )`,
/// `ext-val = token / quoted-string`, BWS being SP and HTAB. CR and LF are
/// handled by the caller.
fn next_ext_state(state: State, b: u8) -> Result<State, BodyError> {
    let is_bws = b == b' ' || b == b'\t';
    let next = match state {
        State::SizeBws if is_bws => State::SizeBws,
        State::SizeBws if b == b';' => State::ExtBeforeName,
        State::SizeBws => return Err(BodyError::BadChunkSize),
        State::ExtBeforeName if is_bws => State::ExtBeforeName,
        State::ExtBeforeName | State::ExtName if is_tchar(b) => State::ExtName,
        State::ExtName | State::ExtAfterName if is_bws => State::ExtAfterName,
        State::ExtName | State::ExtAfterName if b == b'=' => State::ExtBeforeValue,
        State::ExtBeforeValue if is_bws => State::ExtBeforeValue,
        State::ExtBeforeValue if b == b'"' => State::ExtQuoted,
        State::ExtBeforeValue | State::ExtToken if is_tchar(b) => State::ExtToken,
        State::ExtQuoted if b == b'"' => State::ExtAfterQuoted,
        State::ExtQuoted if b == b'\\' => State::ExtQuotedPair,
        State::ExtQuoted if is_qdtext(b) => State::ExtQuoted,
        // RFC 9110 §5.6.4: quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ).
        State::ExtQuotedPair if b == b'\t' || b == b' ' || b.is_ascii_graphic() || b >= 0x80 => State::ExtQuoted,
        State::ExtName | State::ExtAfterName | State::ExtToken | State::ExtAfterQuoted | State::ExtAfterValue
            if b == b';' =>
        {
            State::ExtBeforeName
        }
        State::ExtToken | State::ExtAfterQuoted | State::ExtAfterValue if is_bws => State::ExtAfterValue,
        _ => return Err(BodyError::BadChunkExtension),
    };
    Ok(next)
}

/// RFC 9110 §5.6.4: `qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text`.
fn is_qdtext(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21 | 0x23..=0x5B | 0x5D..=0x7E | 0x80..=0xFF)
}

fn hex_value(b: u8) -> Option<u64> {
    char::from(b).to_digit(16).map(u64::from)
}

/// The LF of a CRLF whose CR was just seen.
fn expect_lf(b: u8) -> Result<(), BodyError> {
    if b == b'\n' {
        Ok(())
    } else {
        Err(BodyError::BareCr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use BodyError::*;

    /// What feeding a whole input gave: the body, the bytes consumed, and whether it ended.
    #[derive(Debug, PartialEq, Eq)]
    struct Outcome {
        data: Vec<u8>,
        consumed: usize,
        done: bool,
    }

    /// Feeds `input` in pieces of the given sizes (cycled; the rest at once if
    /// none), the way the connection does: a buffer that grows by a read and
    /// shrinks by what each step consumed.
    fn feed(mut decoder: Decoder, input: &[u8], piece_sizes: &[usize]) -> Result<Outcome, BodyError> {
        let mut outcome = Outcome { data: Vec::new(), consumed: 0, done: false };
        let (mut buffer, mut offered) = (Vec::new(), 0);
        let mut sizes = piece_sizes.iter().copied().filter(|&n| n > 0).cycle();
        while offered < input.len() && !decoder.is_done() {
            let piece = sizes.next().unwrap_or(input.len()).min(input.len() - offered);
            buffer.extend_from_slice(&input[offered..offered + piece]);
            offered += piece;
            while !decoder.is_done() {
                let step = decoder.decode(&buffer)?;
                assert!(step.consumed <= buffer.len(), "consumed past the input");
                assert!(step.data.end <= step.consumed, "data outside the consumed part");
                if step.consumed == 0 {
                    break;
                }
                outcome.data.extend_from_slice(&buffer[step.data]);
                outcome.consumed += step.consumed;
                buffer.drain(..step.consumed);
            }
        }
        outcome.done = decoder.is_done();
        Ok(outcome)
    }

    fn chunked() -> Decoder {
        Decoder::chunked(ChunkedLimits::default())
    }

    /// Valid chunked bodies, each followed by a pipelined request: (input, body).
    const VALID: &[(&[u8], &[u8])] = &[
        (b"0\r\n\r\n", b""),
        (b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", b"abcde"),
        (b"A\r\n0123456789\r\na\r\n9876543210\r\n0\r\n\r\n", b"01234567899876543210"),
        (b"0005\r\nhello\r\n0000\r\n\r\n", b"hello"),
        (b"0000000000000003\r\nabc\r\n0\r\n\r\n", b"abc"),
        (b"4\r\n\r\n\r\n\r\n0\r\n\r\n", b"\r\n\r\n"),
        (b"5;name\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"5;a=b;c=\"d e\"\r\nhello\r\n0;last\r\n\r\n", b"hello"),
        (b"5 ; a = b\t;\tc ;d=\"\"\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"5;a=\"x\\\"y\\\\\";b=\"\xe9\t\\\xff\"\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"5;!#$%&'*+-.^_`|~=!#$%&'*+-.^_`|~\r\nhello\r\n0\r\n\r\n", b"hello"),
        (b"5\r\nhello\r\n0\r\nX-Sum: abc\r\nY:\r\n\r\n", b"hello"),
        (b"0\r\nX: caf\xe9 \tau lait \r\nHost-Name: a\r\nHos: b\r\nContent-Length-X: 1\r\n\r\n", b""),
    ];

    const NEXT_REQUEST: &[u8] = b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n";

    /// Invalid bodies and the error each must give.
    const INVALID: &[(&[u8], BodyError)] = &[
        (b"\r\n", BadChunkSize),
        (b"g\r\n", BadChunkSize),
        (b" 5\r\nhello\r\n", BadChunkSize),
        (b"+5\r\n", BadChunkSize),
        (b"-5\r\n", BadChunkSize),
        (b"0x5\r\n", BadChunkSize),
        (b"5 \r\nhello\r\n", BadChunkSize),
        (b"5 x\r\n", BadChunkSize),
        (b";a\r\n", BadChunkSize),
        (b"00000000000000001\r\n", ChunkSizeOverflow),
        (b"fffffffffffffffff\r\n", ChunkSizeOverflow),
        (b"5;\r\n", BadChunkExtension),
        (b"5;=b\r\n", BadChunkExtension),
        (b"5;a=\r\n", BadChunkExtension),
        (b"5;a=\"b\r\n", BadChunkExtension),
        (b"5;a=\"b\"c\r\n", BadChunkExtension),
        (b"5;a b\r\n", BadChunkExtension),
        (b"5;a \r\n", BadChunkExtension),
        (b"5;a=b \r\n", BadChunkExtension),
        (b"5;a=b c\r\n", BadChunkExtension),
        (b"5;a=b@\r\n", BadChunkExtension),
        (b"5;a=\"\x01\"\r\n", BadChunkExtension),
        (b"5;a=\"\\\x01\"\r\n", BadChunkExtension),
        (b"5;a=\"b\" \r\n", BadChunkExtension),
        (b"5;a;;b\r\n", BadChunkExtension),
        (b"5\nhello", BareLf),
        (b"5;a\nhello", BareLf),
        (b"5\rhello", BareCr),
        (b"5\r\nhelloX", MissingChunkCrlf),
        (b"5\r\nhello0\r\n\r\n", MissingChunkCrlf),
        (b"5\r\nhello\n0\r\n\r\n", BareLf),
        (b"5\r\nhello\rX", BareCr),
        (b"0\r\n\n", BareLf),
        (b"0\r\n\rX", BareCr),
        (b"0\r\nX: a\n", BareLf),
        (b"0\r\nX: a\rb", BareCr),
        (b"0\r\nX\n", BareLf),
        (b"0\r\nX a\r\n", BadTrailer),
        (b"0\r\nX : a\r\n", BadTrailer),
        (b"0\r\n: a\r\n", BadTrailer),
        (b"0\r\n a: b\r\n", BadTrailer),
        (b"0\r\nX: a\r\n b\r\n\r\n", BadTrailer),
        (b"0\r\nX: a\x00\r\n", BadTrailer),
        (b"0\r\nX: a\x7f\r\n", BadTrailer),
        (b"0\r\nX\r\n", BadTrailer),
        (b"0\r\nContent-Length: 5\r\n\r\n", ForbiddenTrailer),
        (b"0\r\ntransfer-encoding: chunked\r\n\r\n", ForbiddenTrailer),
        (b"0\r\nHOST: a\r\n\r\n", ForbiddenTrailer),
        (b"0\r\nX: 1\r\nhost:a\r\n\r\n", ForbiddenTrailer),
    ];

    #[test]
    fn valid_bodies_decode_and_leave_the_next_request() {
        for &(body, data) in VALID {
            let input = [body, NEXT_REQUEST].concat();
            let want = Outcome { data: data.to_vec(), consumed: body.len(), done: true };
            assert_eq!(feed(chunked(), &input, &[]), Ok(want), "{:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn invalid_bodies_fail_with_their_error() {
        for &(input, error) in INVALID {
            assert_eq!(feed(chunked(), input, &[]), Err(error), "{:?}", String::from_utf8_lossy(input));
            assert_eq!(feed(chunked(), input, &[1]), Err(error), "bytewise {:?}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn every_split_decodes_the_same() {
        for &(body, data) in VALID {
            let input = [body, NEXT_REQUEST].concat();
            let want = Ok(Outcome { data: data.to_vec(), consumed: body.len(), done: true });
            for cut in 1..input.len() {
                assert_eq!(
                    feed(chunked(), &input, &[cut]),
                    want,
                    "cut at {cut} of {:?}",
                    String::from_utf8_lossy(body)
                );
            }
            assert_eq!(feed(chunked(), &input, &[1]), want, "bytewise {:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn one_data_run_per_call_and_nothing_past_the_end() {
        let mut decoder = chunked();
        let input = b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nGET";
        assert_eq!(decoder.decode(input), Ok(Step { consumed: 6, data: 3..6 }));
        assert_eq!(decoder.decode(&input[6..]), Ok(Step { consumed: 7, data: 5..7 }));
        assert_eq!(decoder.decode(&input[13..]), Ok(Step { consumed: 7, data: 0..0 }));
        assert!(decoder.is_done());
        assert_eq!(decoder.decode(&input[20..]), Ok(Step { consumed: 0, data: 0..0 }));
        assert_eq!(decoder.remaining_hint(), None);
    }

    #[test]
    fn an_incomplete_body_asks_for_more() {
        let mut decoder = chunked();
        assert_eq!(decoder.decode(b"5\r\nhel"), Ok(Step { consumed: 6, data: 3..6 }));
        assert_eq!(decoder.decode(b""), Ok(Step { consumed: 0, data: 0..0 }));
        assert!(!decoder.is_done());
        assert_eq!(feed(chunked(), b"5\r\nhello\r\n0\r\nX: y\r\n", &[]).map(|o| o.done), Ok(false));
    }

    #[test]
    fn chunk_line_limit_counts_size_and_extensions_per_line() {
        let limits = ChunkedLimits { max_chunk_line: 8, ..ChunkedLimits::default() };
        let fits = b"1;abcdef\r\na\r\n1;abcdef\r\nb\r\n0;abcdef\r\n\r\n";
        for pieces in [&[][..], &[1]] {
            assert_eq!(feed(Decoder::chunked(limits), fits, pieces).map(|o| o.data), Ok(b"ab".to_vec()));
            assert_eq!(feed(Decoder::chunked(limits), b"1;abcdefg\r\n", pieces), Err(ChunkLineTooLong));
        }
        let long = format!("1;{}\r\n", "a".repeat(4095));
        assert_eq!(feed(chunked(), long.as_bytes(), &[7]), Err(ChunkLineTooLong));
    }

    #[test]
    fn trailer_limit_counts_field_lines() {
        let limits = ChunkedLimits { max_trailers: 10, ..ChunkedLimits::default() };
        for pieces in [&[][..], &[1]] {
            assert!(feed(Decoder::chunked(limits), b"0\r\nX: 12345\r\n\r\n", pieces).is_ok_and(|o| o.done));
            assert_eq!(feed(Decoder::chunked(limits), b"0\r\nX: 123456\r\n\r\n", pieces), Err(TrailersTooLarge));
            assert_eq!(feed(Decoder::chunked(limits), b"0\r\nX: 1\r\nY: 2\r\n\r\n", pieces), Err(TrailersTooLarge));
        }
        let none = ChunkedLimits { max_trailers: 0, ..ChunkedLimits::default() };
        assert!(feed(Decoder::chunked(none), b"0\r\n\r\n", &[]).is_ok_and(|o| o.done));
    }

    #[test]
    fn length_decoder_stops_at_the_length() {
        let input = b"helloGET / HTTP/1.1\r\n";
        let want = Ok(Outcome { data: b"hello".to_vec(), consumed: 5, done: true });
        for cut in 1..input.len() {
            assert_eq!(feed(Decoder::length(5), input, &[cut]), want);
        }
        let mut decoder = Decoder::length(5);
        assert_eq!(decoder.remaining_hint(), Some(5));
        assert_eq!(decoder.decode(b"he"), Ok(Step { consumed: 2, data: 0..2 }));
        assert_eq!(decoder.remaining_hint(), Some(3));
        assert!(!decoder.is_done());
        assert_eq!(decoder.decode(b"llo!"), Ok(Step { consumed: 3, data: 0..3 }));
        assert!(decoder.is_done());
        assert_eq!(decoder.decode(b"!"), Ok(Step { consumed: 0, data: 0..0 }));
    }

    #[test]
    fn length_decoder_handles_zero_and_huge_lengths() {
        let mut empty = Decoder::length(0);
        assert!(empty.is_done());
        assert_eq!(empty.decode(b"GET"), Ok(Step { consumed: 0, data: 0..0 }));
        let mut huge = Decoder::length(u64::MAX);
        assert_eq!(huge.decode(&[7; 100]), Ok(Step { consumed: 100, data: 0..100 }));
        assert_eq!(huge.remaining_hint(), Some(u64::MAX - 100));
        assert!(!huge.is_done());
    }

    #[test]
    fn errors_are_400_with_a_reason() {
        for &(_, error) in INVALID {
            assert_eq!(error.status(), 400);
            assert_eq!(error.to_string(), error.reason());
        }
        assert_eq!(ChunkLineTooLong.status(), 400);
        assert_eq!(TrailersTooLarge.status(), 400);
    }

    /// Chunk extensions: names, token and quoted values, BWS.
    fn extensions() -> impl Strategy<Value = String> {
        let name = "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,6}";
        let value = prop_oneof![
            Just(String::new()),
            "[A-Za-z0-9.-]{1,6}".prop_map(|v| format!("={v}")),
            r#""([ \t!#-\[\]-~\x80-\xff]|\\[ -~])*""#.prop_map(|v| format!(" =\t{v}")),
        ];
        let one = (name, value, any::<bool>())
            .prop_map(|(n, v, bws)| if bws { format!(" \t; {n}{v}") } else { format!(";{n}{v}") });
        prop::collection::vec(one, 0..3).prop_map(|exts| exts.concat())
    }

    /// Trailer field lines, none of them forbidden.
    fn trailers() -> impl Strategy<Value = String> {
        let line = ("[A-Za-z0-9-]{1,8}", "[ -~\t]{0,12}").prop_map(|(n, v)| format!("X-{n}:{v}\r\n"));
        prop::collection::vec(line, 0..3).prop_map(|lines| lines.concat())
    }

    /// Encodes `data` in chunks of the given sizes (cycled), with extensions and trailers.
    fn encode(data: &[u8], sizes: &[usize], exts: &[String], trailers: &str, upper: bool) -> Vec<u8> {
        let (mut out, mut rest) = (Vec::new(), data);
        let mut sizes = sizes.iter().copied().filter(|&n| n > 0).cycle();
        let mut exts = exts.iter().cycle();
        while !rest.is_empty() {
            let (chunk, after) = rest.split_at(sizes.next().unwrap_or(rest.len()).min(rest.len()));
            rest = after;
            let size = if upper { format!("{:X}", chunk.len()) } else { format!("{:x}", chunk.len()) };
            out.extend_from_slice(format!("{size}{}\r\n", exts.next().map_or("", |e| e)).as_bytes());
            out.extend_from_slice(chunk);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("0{}\r\n{trailers}\r\n", exts.next().map_or("", |e| e)).as_bytes());
        out
    }

    proptest! {
        #[test]
        fn chunked_round_trip(
            data in prop::collection::vec(any::<u8>(), 0..600),
            sizes in prop::collection::vec(1usize..300, 0..6),
            exts in prop::collection::vec(extensions(), 0..4),
            trailers in trailers(),
            upper in any::<bool>(),
            pieces in prop::collection::vec(1usize..40, 0..8),
        ) {
            let encoded = encode(&data, &sizes, &exts, &trailers, upper);
            let input = [&encoded[..], NEXT_REQUEST].concat();
            let outcome = feed(chunked(), &input, &pieces);
            prop_assert_eq!(outcome, Ok(Outcome { data, consumed: encoded.len(), done: true }));
        }

        #[test]
        fn arbitrary_bytes_never_panic(
            prefix in prop_oneof![Just(&b""[..]), Just(&b"5\r\n"[..]), Just(&b"0\r\n"[..]), Just(&b"1;a=\""[..])],
            tail in prop::collection::vec(any::<u8>(), 0..200),
            pieces in prop::collection::vec(1usize..20, 0..5),
        ) {
            let input = [prefix, &tail[..]].concat();
            let small = ChunkedLimits { max_chunk_line: 16, max_trailers: 16 };
            for decoder in [chunked(), Decoder::chunked(small), Decoder::length(tail.len() as u64 / 2)] {
                if let Ok(outcome) = feed(decoder, &input, &pieces) {
                    prop_assert!(outcome.consumed <= input.len());
                }
            }
        }
    }
}
