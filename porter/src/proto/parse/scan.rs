//! The head scanner: where the lines of a request head end, found as its bytes
//! arrive, each byte examined once however the head is split into reads.
//!
//! [`HeadScan`] keeps how far it has looked (as hyper keeps the offset it has
//! searched for the end of a head), so a head trickled in small pieces costs
//! work in proportion to its length, not to its length squared. It finds the
//! line ends and the head's end, the faults a byte shows at once (a bare CR or
//! LF, a method byte that is not a token) and where a size limit cuts the head.
//! A line is judged as soon as it ends, as nginx does: the request line when
//! its CRLF arrives, the field lines completed by a read that did not end the
//! head once each ([`HeadScan::judge_new_fields`]), so a client that sends a bad
//! line and waits gets its 400 (or 505) at once. `httparse` and porter's field
//! rules ([`super`]) then run once, on the complete head or on the bytes before
//! the cut, and name the first fault.

use super::syntax::field_lines_fault;
use super::{is_tchar, judge_request_line, HeadLimits, Lines, ParseError, MAX_SPAN_OFFSET};

/// How far the scan of the head at the start of a buffer has come. The buffer
/// may only grow between calls (bytes appended); a new head starts a new scan.
#[derive(Clone, Debug, Default)]
pub struct HeadScan {
    /// The line ends found so far.
    pub(super) lines: Lines,
    /// First byte of the line being scanned.
    line_start: usize,
    /// The next byte to examine: every byte before it has been examined once.
    next: usize,
    /// The byte before `next` is a CR whose successor has not arrived yet.
    cr_pending: bool,
    /// The method has ended (a SP on the request line).
    method_done: bool,
    /// Where the head was cut short for good, and why.
    cut: Option<(usize, ParseError)>,
    /// Field lines ended so far.
    field_lines: usize,
    /// How far (offset, field lines) the field lines have been judged.
    fields_judged: (usize, usize),
    /// The request line, ended, has been judged on its own.
    line_judged: bool,
}

/// What the bytes seen so far amount to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scanned {
    /// No head end yet, within the limits, no fault.
    Incomplete,
    /// The head ends at this offset (its final CRLF included).
    Complete(usize),
    /// The bytes from this offset on cannot belong to a head: a fault at that
    /// byte, a limit the byte breaks, or bad field lines just before it. The
    /// bytes before decide first.
    Cut(usize, ParseError),
}

impl HeadScan {
    /// Examines the bytes of `buf` not examined by an earlier call.
    pub(super) fn scan(&mut self, buf: &[u8], limits: &HeadLimits) -> Scanned {
        if buf.len() < self.next {
            // Not the buffer this scan began on: start over rather than misjudge.
            *self = HeadScan::default();
        }
        if self.lines.head_end.is_none() && self.cut.is_none() {
            self.advance(buf, limits);
        }
        if self.lines.head_end.is_none() && self.cut.is_none() {
            self.cut = self.limit_cut(buf, limits);
        }
        match (self.lines.head_end, self.cut) {
            (Some(end), _) => Scanned::Complete(end),
            (None, Some((at, error))) => Scanned::Cut(at, error),
            (None, None) => Scanned::Incomplete,
        }
    }

    /// Examines bytes in order until the head ends, a fault shows, or no byte
    /// worth examining is left (the rest is missing or past a limit).
    fn advance(&mut self, buf: &[u8], limits: &HeadLimits) {
        while self.lines.head_end.is_none() && self.cut.is_none() {
            if self.cr_pending {
                // The byte after a CR decides it, even one past a limit (a
                // bare CR before the limit is the earlier fault).
                let Some(&after) = buf.get(self.next) else { return };
                work::scanned(1);
                self.cr_pending = false;
                self.next += 1;
                self.end_line(self.next - 2, after, head_limit(limits));
                continue;
            }
            let end = self.examinable_end(buf.len(), limits);
            let Some(rest) = buf.get(self.next..end).filter(|rest| !rest.is_empty()) else { return };
            let in_method = self.lines.line_end.is_none() && !self.method_done;
            // A method byte must be a tchar, and CR, LF and SP are not: one pass
            // finds the method's first non-tchar or, after it, the line's break.
            let stop = match in_method {
                true => rest.iter().position(|&b| !is_tchar(b)),
                false => rest.iter().position(|&b| is_line_break(b)),
            };
            let Some(offset) = stop else {
                work::scanned(rest.len());
                self.next = end;
                return;
            };
            work::scanned(offset + 1);
            let at = self.next + offset;
            self.next = at + 1;
            self.examine(at, rest[offset], limits);
        }
    }

    /// Judges the byte at `at` the search stopped at: a line break, or in the
    /// method a SP or a byte that is not a tchar.
    fn examine(&mut self, at: usize, byte: u8, limits: &HeadLimits) {
        let line_limit = self.lines.start.saturating_add(limits.max_request_line);
        match byte {
            b'\r' => self.cr_pending = true,
            // RFC 9112 §2.2: a recipient MAY accept a bare LF as a line terminator;
            // porter does not (see `end_line`).
            b'\n' => self.cut = Some((at, ParseError::BareLf)),
            // A method byte at the line limit is the line's fault, not the method's.
            _ if at >= line_limit => {}
            // RFC 9112 §3: `method SP request-target SP HTTP-version`; RFC 9110 §9.1:
            // the method is a token, so an empty one is no method.
            b' ' if at > self.lines.start => self.method_done = true,
            // Not a token: not HTTP (e.g. a TLS handshake on a plain port), refused at once.
            _ => self.cut = Some((at, ParseError::BadMethod)),
        }
    }

    /// A CR at `cr` followed by `after`: a line end, else a bare CR. A head
    /// whose final LF lies past `head_limit` has not ended: `limit_cut` cuts it.
    fn end_line(&mut self, cr: usize, after: u8, head_limit: usize) {
        // RFC 9112 §2.2: a recipient MUST reject or replace a bare CR. porter
        // rejects it (and a bare LF): a front end that splits lines differently
        // could otherwise smuggle a request past us.
        if after != b'\n' {
            self.cut = Some((cr, ParseError::BareCr));
            return;
        }
        let is_empty = cr == self.line_start;
        match self.lines.line_end {
            // RFC 9112 §2.2: empty lines before the request line are ignored.
            None if is_empty => self.lines.start = cr + 2,
            None => {
                // RFC 9112 §3: the request line is judged once it has ended,
                // in `judge_new_fields` unless the same read ends the head
                // (then the head's own parse judges it, once).
                self.lines.line_end = Some(cr);
            }
            Some(_) if is_empty && cr + 2 <= head_limit => self.lines.head_end = Some(cr + 2),
            Some(_) if is_empty => {}
            Some(_) => self.field_lines += 1,
        }
        self.line_start = cr + 2;
    }

    /// Hands the field lines ended since the last call, each line once, to
    /// `httparse` (through [`field_lines_fault`]) and cuts the head after them
    /// if one is bad or they are more than `max_headers`. Called when a read
    /// did not end the head: a complete head is judged whole, once.
    pub(super) fn judge_new_fields(&mut self, buf: &[u8], limits: &HeadLimits) -> Scanned {
        let (Some(line_end), None, None) = (self.lines.line_end, self.lines.head_end, self.cut) else {
            return Scanned::Incomplete;
        };
        // RFC 9112 §3: HTTP/0.9, a version porter does not speak, a bad
        // target: refused now, not when the head ends or times out.
        if !std::mem::replace(&mut self.line_judged, true) {
            if let Err(error) = judge_request_line(buf, self.lines.start, line_end) {
                self.cut = Some((line_end, error));
                return Scanned::Cut(line_end, error);
            }
        }
        let (judged_to, judged_count) = self.fields_judged;
        let from = judged_to.max(line_end + 2);
        let Some(lines) = buf.get(from..self.line_start).filter(|lines| !lines.is_empty()) else {
            return Scanned::Incomplete;
        };
        // As many slots as new lines, or fewer if fewer are allowed: a large
        // max_headers costs nothing per read.
        let slots = limits.max_headers.saturating_sub(judged_count).min(self.field_lines.saturating_sub(judged_count));
        if let Some(error) = field_lines_fault(lines, slots) {
            self.cut = Some((self.line_start, error));
            return Scanned::Cut(self.line_start, error);
        }
        self.fields_judged = (self.line_start, self.field_lines);
        Scanned::Incomplete
    }

    /// Where the bytes worth examining end: at the head limit, and while the
    /// request line is open one past the line limit (its CR may sit there).
    fn examinable_end(&self, len: usize, limits: &HeadLimits) -> usize {
        let end = len.min(head_limit(limits));
        match self.lines.line_end {
            None => end.min(self.lines.start.saturating_add(limits.max_request_line).saturating_add(1)),
            Some(_) => end,
        }
    }

    /// Where `buf` first breaks a size limit, if it does: the length of the
    /// longest prefix within every limit, and the error for the byte after it.
    /// A prefix of a head never breaks a limit the complete head meets, so
    /// `Incomplete` is only ever said within the limits.
    fn limit_cut(&self, buf: &[u8], limits: &HeadLimits) -> Option<(usize, ParseError)> {
        // RFC 9112 §3: a target longer than the server wishes to parse is a 414; we
        // bound the whole request line (§3 recommends accepting at least 8000
        // octets). The line is too long once one byte more than allowed has come
        // without the CR that would end it.
        let line_limit = self.lines.start.saturating_add(limits.max_request_line);
        let is_line_open = self.lines.line_end.is_none() && !self.cr_pending && self.next >= line_limit;
        let line_cut = is_line_open && buf.get(line_limit).is_some_and(|&b| !is_line_break(b));
        let line_cut = line_cut.then_some(line_limit);
        // RFC 6585 §5: 431 for a head too large to process.
        let head_limit = head_limit(limits);
        let head_cut = (buf.len() > head_limit).then_some(head_limit);
        match (line_cut, head_cut) {
            (Some(line), Some(head)) if head < line => Some((head, ParseError::HeadersTooLarge)),
            (Some(line), _) => Some((line, ParseError::UriTooLong)),
            (None, Some(head)) => Some((head, ParseError::HeadersTooLarge)),
            (None, None) => None,
        }
    }
}

/// The largest head, bounded by what a [`super::Span`] can address.
fn head_limit(limits: &HeadLimits) -> usize {
    limits.max_head.min(MAX_SPAN_OFFSET)
}

fn is_line_break(b: u8) -> bool {
    b == b'\r' || b == b'\n'
}

/// Work counters for tests: bytes the scanner examined and bytes handed to
/// `httparse`, on this thread. Compiled to nothing outside tests.
pub(crate) mod work {
    #[cfg(test)]
    thread_local! {
        static COUNTS: std::cell::Cell<(usize, usize)> = const { std::cell::Cell::new((0, 0)) };
    }

    /// Counts `n` bytes examined by the scanner.
    #[inline]
    pub(crate) fn scanned(_n: usize) {
        #[cfg(test)]
        COUNTS.with(|c| c.set((c.get().0 + _n, c.get().1)));
    }

    /// Counts `n` bytes handed to `httparse`.
    #[inline]
    pub(crate) fn judged(_n: usize) {
        #[cfg(test)]
        COUNTS.with(|c| c.set((c.get().0, c.get().1 + _n)));
    }

    /// `(scanned, judged)` on this thread since the last call, which resets them.
    #[cfg(test)]
    pub(crate) fn take() -> (usize, usize) {
        COUNTS.with(|c| c.replace((0, 0)))
    }
}
