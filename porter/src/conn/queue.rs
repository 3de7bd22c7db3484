//! The reply queue: one slot per parsed request, in request order.
//!
//! Requests are parsed ahead (pipelining, RFC 9112 §9.3.2) and each gets a slot
//! when it is dispatched; replies leave strictly from the front, so a later
//! request's reply never overtakes an earlier one. A `100 Continue` is a slot of
//! its own, placed after every earlier reply.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use crate::observe::{LogInfo, Observer};
use crate::proto::parse::Version;
use crate::request::Request;
use crate::responder::{Answer, Pending};
use crate::response::{BodyKind, Response};

/// What a reply needs to know about the request it answers.
#[derive(Clone, Debug)]
pub(crate) struct ReplyMeta {
    /// HEAD: send the headers a GET would get, no body (RFC 9110 §9.3.2).
    pub(crate) is_head: bool,
    pub(crate) version: Version,
    /// Close the connection after this reply.
    pub(crate) close: bool,
    /// An HTTP/1.0 client asked for keep-alive, so say `Connection: keep-alive`.
    pub(crate) keep_alive_10: bool,
    /// For the access log: the request line and the fields it shows.
    pub(crate) log: Option<LogInfo>,
    /// The request came in while no access log was kept, so `log` was not
    /// collected: its reply is counted but gets no line (a log switched on
    /// while it was under way), rather than a line of `-` fields.
    pub(crate) log_missed: bool,
    /// For the access log and metrics: when the head came in.
    pub(crate) started: Option<Instant>,
    /// The request's sequence number on its connection.
    pub(crate) seq: u64,
}

impl ReplyMeta {
    /// Metadata for replying to `req`; `observe` (with the time its head came
    /// in) when the server keeps an access log or metrics.
    pub(crate) fn of(req: &Request, seq: u64, observe: Option<(&Observer, Instant)>) -> Self {
        let parsed = req.parsed();
        let wants_log = observe.is_some_and(|(o, _)| o.wants_log_info());
        ReplyMeta {
            is_head: req.is_head(),
            version: parsed.version,
            close: !parsed.keep_alive,
            keep_alive_10: parsed.keep_alive && parsed.version == Version::Http10,
            seq,
            log: wants_log.then(|| log_info(req)),
            log_missed: !wants_log,
            started: observe.map(|(_, now)| now),
        }
    }

    /// Keeps the user an authenticator accepted during the handler call that
    /// just returned, when the access log wants it. The thread's slot is
    /// emptied either way: another loop on this thread (embedded loops share
    /// threads) must never log this request's user as its own.
    pub(crate) fn note_user(&mut self) {
        let user = crate::observe::user::take();
        if let Some(log) = &mut self.log {
            log.user = user.or(log.user.take());
        }
    }

    /// Keeps the user an authenticator accepted off the loop (see
    /// [`Responder::set_user`](crate::Responder)), when the access log wants it.
    pub(crate) fn note_deferred_user(&mut self, user: Option<Box<str>>) {
        if let (Some(log), Some(user)) = (&mut self.log, user) {
            log.user = Some(user);
        }
    }

    /// Metadata for an error reply to a request that could not be parsed.
    pub(crate) fn for_error() -> Self {
        ReplyMeta {
            is_head: false,
            version: Version::Http11,
            close: true,
            keep_alive_10: false,
            log: None,
            log_missed: false,
            started: None,
            seq: u64::MAX,
        }
    }
}

/// The fields an access-log line shows, found once in the parsed head.
fn log_info(req: &Request) -> LogInfo {
    let parsed = req.parsed();
    let field = |name: &str| {
        parsed.headers.iter().find(|(n, _)| n.get(req.head_bytes()).eq_ignore_ascii_case(name.as_bytes())).map(|h| h.1)
    };
    LogInfo {
        head: req.head_bytes().clone(),
        method: parsed.method,
        target: parsed.target,
        version: parsed.version,
        referer: field("referer"),
        user_agent: field("user-agent"),
        host: parsed.host,
        user: None,
    }
}

/// One place in the reply order.
#[derive(Debug)]
pub(crate) enum Slot {
    /// `100 Continue` for the request whose body is being read.
    Continue,
    /// A final response, ready to encode (inline: one allocation less per
    /// request; the queue itself is given back at the end of a turn that
    /// leaves it empty).
    Ready(Response, ReplyMeta),
    /// Request `seq` was deferred: its responder has not answered yet.
    Waiting { seq: u64, pending: Arc<Pending>, meta: ReplyMeta },
}

/// Slots in request order.
#[derive(Debug, Default)]
pub(crate) struct ReplyQueue {
    slots: VecDeque<Slot>,
    /// The capacity the last burst grew to: a new burst reserves it at once
    /// instead of growing 4, 8, 16... (each growth a copy of every slot).
    last_peak: usize,
}

impl ReplyQueue {
    pub(crate) fn push(&mut self, slot: Slot) {
        if self.slots.capacity() == 0 {
            self.slots.reserve(self.last_peak.max(1));
        }
        self.slots.push_back(slot);
    }

    /// Takes the front slot if it can be written now (a waiting answer holds
    /// back every reply behind it: replies leave in request order).
    pub(crate) fn pop_ready(&mut self) -> Option<Slot> {
        match self.slots.front() {
            Some(Slot::Waiting { .. }) | None => None,
            Some(_) => self.slots.pop_front(),
        }
    }

    /// Fills the waiting slot of request `seq` with its answer. Returns false if
    /// no such slot waits (a stale or repeated answer, dropped quietly).
    ///
    /// The answer may come from an inner handler's own deferral answering in
    /// the request's place (e.g. behind a [`Protected`](crate::Protected)):
    /// the restyles of every handler it passed apply, innermost first (see
    /// [`Answer::finish`]).
    pub(crate) fn answer(&mut self, seq: u64, answer: Answer) -> bool {
        let Some(slot) = self.slots.iter_mut().find(|s| matches!(s, Slot::Waiting { seq: q, .. } if *q == seq)) else {
            return false;
        };
        if let Slot::Waiting { meta, pending, .. } = slot {
            let (response, user) = answer.finish(pending);
            let mut meta = meta.clone();
            meta.close |= response.close;
            meta.note_deferred_user(user);
            *slot = Slot::Ready(response, meta);
        }
        true
    }

    /// Puts a `100 Continue` right before request `seq`'s reply, if that reply
    /// has not started going out (otherwise the final status is already on
    /// its way and the interim one would come too late).
    pub(crate) fn insert_continue_before(&mut self, seq: u64) {
        let at = self.slots.iter().position(|s| match s {
            Slot::Ready(_, meta) | Slot::Waiting { meta, .. } => meta.seq == seq,
            Slot::Continue => false,
        });
        if let Some(at) = at {
            self.slots.insert(at, Slot::Continue);
        }
    }

    /// True if some deferred answer is still awaited.
    pub(crate) fn has_waiting(&self) -> bool {
        self.slots.iter().any(|s| matches!(s, Slot::Waiting { .. }))
    }

    /// Empties the queue, handing each request that will get no reply to
    /// `unanswered`, and returns those still waiting for an answer.
    pub(crate) fn abandon(&mut self, mut unanswered: impl FnMut(ReplyMeta)) -> Vec<(u64, Arc<Pending>)> {
        self.slots
            .drain(..)
            .filter_map(|s| match s {
                Slot::Waiting { seq, pending, meta } => {
                    unanswered(meta);
                    Some((seq, pending))
                }
                Slot::Ready(_, meta) => {
                    unanswered(meta);
                    None
                }
                Slot::Continue => None,
            })
            .collect()
    }

    /// Gives the queue's memory back when it is empty (at the end of a turn,
    /// so idle keep-alive connections hold none), remembering how deep the
    /// last burst went.
    pub(crate) fn release_memory(&mut self) {
        if self.slots.is_empty() && self.slots.capacity() > 0 {
            self.last_peak = self.slots.capacity();
            self.slots = VecDeque::new();
        }
    }

    /// True when the last reply queued is a file's (its file is open).
    pub(crate) fn ends_with_file(&self) -> bool {
        matches!(self.slots.back(), Some(Slot::Ready(response, _)) if matches!(response.body.0, BodyKind::File { .. }))
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Marks the last queued final reply to carry `Connection: close`.
    /// Returns false when there is none (nothing queued).
    pub(crate) fn close_after_last(&mut self) -> bool {
        match self.slots.iter_mut().rev().find_map(|s| match s {
            Slot::Ready(_, meta) | Slot::Waiting { meta, .. } => Some(meta),
            Slot::Continue => None,
        }) {
            Some(meta) => {
                meta.close = true;
                true
            }
            None => false,
        }
    }

    /// Drops a `100 Continue` that was queued but not sent (the body will not be read).
    pub(crate) fn drop_pending_continue(&mut self) {
        if matches!(self.slots.back(), Some(Slot::Continue)) {
            self.slots.pop_back();
        }
    }
}
