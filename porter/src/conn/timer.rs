//! Which timeout applies to a connection: a pure function of a summary of its
//! state ([`timer_for`]), and when a running timeout starts over ([`restarts`]).
//!
//! The output side is decided first and by what the output is, not by buffer
//! lengths: whenever a reply has bytes to give the client (buffered bytes, an
//! in-memory body going out by `writev`, a file going out by sendfile, a reader
//! body, ciphertext TLS still holds), the write timeout applies and measures
//! the pause since the last write progress, as nginx's `send_timeout` does. A
//! body waiting for its producer (a channel with nothing queued) waits on the
//! application, not on the client, as a deferred answer does: no timeout.

use std::time::{Duration, Instant};

use super::Phase;
use crate::limits::{deadline_after, Limits};

/// How long a closing connection keeps reading the peer's leftovers.
pub(crate) const LINGER: Duration = Duration::from_secs(2);

/// Which timeout currently applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimerKind {
    None,
    Idle,
    Header,
    Body,
    Write,
    Linger,
}

/// What the output side holds, as [`crate::conn::output::Output::state`] sums it up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutputState {
    /// Nothing encoded, nothing in flight.
    Idle,
    /// Encoded bytes wait in the output buffer (heads, copied bodies, pulled pieces).
    Buffered,
    /// A shared in-memory body goes out straight from its `Bytes`.
    Shared,
    /// A file body goes out with sendfile.
    File,
    /// A reader body: the next piece is pulled as soon as the client takes the last.
    Reader,
    /// A channel body with nothing queued: it waits for its producer.
    Channel,
}

impl OutputState {
    /// True when the output waits for the client to take bytes.
    fn waits_on_client(self) -> bool {
        match self {
            OutputState::Buffered | OutputState::Shared | OutputState::File | OutputState::Reader => true,
            OutputState::Idle | OutputState::Channel => false,
        }
    }
}

/// What the input side is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InputState {
    /// Waiting for a request head; `begun` once some of it has arrived.
    Head { begun: bool },
    /// Reading a request body.
    Body,
    /// No more requests will be read.
    Stopped,
}

/// The parts of a connection's state its timeout depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) phase: Phase,
    /// A PROXY protocol header is still awaited (the start of the first head).
    pub(crate) proxy_header: bool,
    /// A TLS handshake is going on (the start of the first head).
    pub(crate) handshaking: bool,
    pub(crate) input: InputState,
    /// Porter does not read now although the input accepts more: the reply
    /// queue is full of requests the application has not answered, or a
    /// streaming handler does not read its body (backpressure). The
    /// application holds the input back, not the client.
    pub(crate) paused: bool,
    pub(crate) output: OutputState,
    /// The transport holds output of its own (TLS records) not yet on the wire.
    pub(crate) transport_held: bool,
    /// Replies are queued (ready, or awaited from a deferred handler).
    pub(crate) replies_queued: bool,
    /// The server drains and this connection has sent no request yet: it may
    /// have been accepted from the backlog with its request on the way.
    pub(crate) draining_unused: bool,
}

/// The timeout that applies to a connection in state `s`.
pub(crate) fn timer_for(s: &Summary) -> TimerKind {
    match s.phase {
        Phase::Lingering => return TimerKind::Linger,
        Phase::Dead => return TimerKind::None,
        Phase::Open | Phase::Closing => {}
    }
    if s.proxy_header {
        return TimerKind::Header;
    }
    if s.output.waits_on_client() || s.transport_held {
        return TimerKind::Write;
    }
    match s.input {
        // A complete request may wait in the buffer unparsed: not the client's delay.
        InputState::Head { .. } | InputState::Body if s.paused => TimerKind::None,
        InputState::Body => TimerKind::Body,
        InputState::Head { begun: true } => TimerKind::Header,
        InputState::Head { begun: false } if s.handshaking => TimerKind::Header,
        // Draining, a new connection's first request has the header timeout to come.
        InputState::Head { begun: false } if s.draining_unused => TimerKind::Header,
        InputState::Head { begun: false } if !s.replies_queued && s.output == OutputState::Idle => TimerKind::Idle,
        // A deferred answer or a channel's producer is awaited: the application's pace.
        InputState::Head { .. } | InputState::Stopped => TimerKind::None,
    }
}

/// What moved during a turn.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Progress {
    pub(crate) read: bool,
    pub(crate) wrote: bool,
    /// A new request head began.
    pub(crate) head_started: bool,
}

/// True when timeout `kind`, which follows `previous`, starts over after a
/// turn with `progress`. The header timeout runs from a head's first byte
/// (trickling does not extend it); the body and write timeouts measure the
/// pause since the last progress; the idle one, since the last read.
pub(crate) fn restarts(kind: TimerKind, previous: TimerKind, progress: Progress) -> bool {
    kind != previous
        || match kind {
            TimerKind::Header => progress.head_started,
            TimerKind::Idle | TimerKind::Body => progress.read,
            TimerKind::Write => progress.wrote,
            TimerKind::None | TimerKind::Linger => false,
        }
}

/// When timeout `kind`, (re)starting `now`, ends. The header timeout of a
/// begun head keeps the deadline set at the head's first byte
/// (`head_deadline`): a pause for writing in between (the client not taking
/// an earlier reply) does not give the head a fresh one.
pub(crate) fn deadline_of(
    kind: TimerKind,
    head_deadline: Option<Instant>,
    now: Instant,
    limits: &Limits,
) -> Option<Instant> {
    match (kind, head_deadline) {
        (TimerKind::Header, Some(head)) => Some(head),
        _ => timeout_of(kind, limits).map(|d| deadline_after(now, d)),
    }
}

/// How long timeout `kind` lasts under `limits`.
pub(crate) fn timeout_of(kind: TimerKind, limits: &Limits) -> Option<Duration> {
    match kind {
        TimerKind::None => None,
        TimerKind::Idle => Some(limits.idle_timeout),
        TimerKind::Header => Some(limits.header_timeout),
        TimerKind::Body => Some(limits.body_timeout),
        TimerKind::Write => Some(limits.write_timeout),
        TimerKind::Linger => Some(LINGER),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN_IDLE: Summary = Summary {
        phase: Phase::Open,
        proxy_header: false,
        handshaking: false,
        input: InputState::Head { begun: false },
        paused: false,
        output: OutputState::Idle,
        transport_held: false,
        replies_queued: false,
        draining_unused: false,
    };

    const ALL_OUTPUTS: [OutputState; 6] = [
        OutputState::Idle,
        OutputState::Buffered,
        OutputState::Shared,
        OutputState::File,
        OutputState::Reader,
        OutputState::Channel,
    ];

    const ALL_INPUTS: [InputState; 4] =
        [InputState::Head { begun: false }, InputState::Head { begun: true }, InputState::Body, InputState::Stopped];

    /// Which output states owe the client bytes, written out: each of them,
    /// and ciphertext the transport holds, gets the write timeout, whatever
    /// the input side does, in both phases that write.
    #[test]
    fn every_output_waiting_on_the_client_has_the_write_timeout() {
        use OutputState as O;
        // (output, transport holds records) → the write timeout applies
        let table = [
            (O::Idle, false, false),
            (O::Idle, true, true),
            (O::Buffered, false, true),
            (O::Buffered, true, true),
            (O::Shared, false, true),
            (O::Shared, true, true),
            (O::File, false, true),
            (O::File, true, true),
            (O::Reader, false, true),
            (O::Reader, true, true),
            (O::Channel, false, false),
            (O::Channel, true, true),
        ];
        assert_eq!(table.len(), 2 * ALL_OUTPUTS.len(), "every output state is in the table");
        for (output, transport_held, writes) in table {
            for phase in [Phase::Open, Phase::Closing] {
                for input in ALL_INPUTS {
                    for (replies_queued, paused) in [(false, false), (true, false), (true, true)] {
                        let s = Summary { phase, input, output, transport_held, replies_queued, paused, ..OPEN_IDLE };
                        assert_eq!(timer_for(&s) == TimerKind::Write, writes, "{s:?}");
                    }
                }
            }
        }
    }

    /// The table: each state that does not owe the client bytes, and its timeout.
    #[test]
    fn states_without_output_to_write_take_their_timeout_from_the_input() {
        use InputState::*;
        use TimerKind as T;
        let idle = OutputState::Idle;
        let channel = OutputState::Channel;
        let table = [
            // (input, paused, output, replies queued, handshaking, draining unused) → timeout
            (Head { begun: false }, false, idle, false, false, false, T::Idle),
            (Head { begun: false }, false, idle, false, true, false, T::Header),
            (Head { begun: false }, false, idle, false, false, true, T::Header),
            (Head { begun: true }, false, idle, false, false, false, T::Header),
            (Head { begun: true }, false, idle, true, false, false, T::Header),
            // The queue is full of unanswered requests: the next head waits unparsed.
            (Head { begun: true }, true, idle, true, false, false, T::None),
            (Head { begun: false }, true, idle, true, false, false, T::None),
            (Head { begun: false }, false, idle, true, false, false, T::None), // a deferred answer awaited
            (Head { begun: false }, false, channel, false, false, false, T::None), // a producer awaited
            (Body, false, idle, false, false, false, T::Body),
            (Body, false, channel, true, false, false, T::Body),
            // A streaming handler not reading, or a full queue: the application's pace.
            (Body, true, idle, false, false, false, T::None),
            (Body, true, idle, true, false, false, T::None),
            (Stopped, false, idle, true, false, false, T::None),
            (Stopped, false, channel, false, false, false, T::None),
        ];
        for (input, paused, output, replies_queued, handshaking, draining_unused, want) in table {
            let s = Summary { input, paused, output, replies_queued, handshaking, draining_unused, ..OPEN_IDLE };
            assert_eq!(timer_for(&s), want, "{s:?}");
        }
    }

    #[test]
    fn phase_and_proxy_header_come_first() {
        for output in ALL_OUTPUTS {
            for input in ALL_INPUTS {
                let s = Summary { input, output, transport_held: true, ..OPEN_IDLE };
                assert_eq!(timer_for(&Summary { phase: Phase::Lingering, ..s }), TimerKind::Linger);
                assert_eq!(timer_for(&Summary { phase: Phase::Dead, ..s }), TimerKind::None);
                assert_eq!(timer_for(&Summary { proxy_header: true, ..s }), TimerKind::Header);
            }
        }
    }

    #[test]
    fn each_timeout_restarts_on_its_own_kind_of_progress() {
        let read = Progress { read: true, ..Progress::default() };
        let wrote = Progress { wrote: true, ..Progress::default() };
        let head = Progress { head_started: true, read: true, ..Progress::default() };
        let none = Progress::default();
        use TimerKind as T;
        let table = [
            (T::Write, wrote, true),
            (T::Write, read, false),
            (T::Write, none, false),
            (T::Body, read, true),
            (T::Body, wrote, false),
            (T::Idle, read, true),
            (T::Header, read, false), // trickling does not extend it
            (T::Header, head, true),
            (T::Linger, read, false),
            (T::None, head, false),
        ];
        for (kind, progress, want) in table {
            assert_eq!(restarts(kind, kind, progress), want, "{kind:?} after {progress:?}");
        }
        assert!(restarts(T::Write, T::Idle, none), "a new kind always starts afresh");
    }

    /// A begun head keeps the deadline of its first byte whatever came in
    /// between; every other timeout runs from now.
    #[test]
    fn a_begun_head_keeps_its_deadline() {
        let limits = Limits::default();
        let now = Instant::now();
        let head = now - Duration::from_secs(3);
        assert_eq!(deadline_of(TimerKind::Header, Some(head), now, &limits), Some(head));
        assert_eq!(deadline_of(TimerKind::Header, None, now, &limits), Some(now + limits.header_timeout));
        assert_eq!(deadline_of(TimerKind::Write, Some(head), now, &limits), Some(now + limits.write_timeout));
        assert_eq!(deadline_of(TimerKind::None, Some(head), now, &limits), None);
    }

    #[test]
    fn each_kind_has_its_limit() {
        let limits = Limits::default();
        assert_eq!(timeout_of(TimerKind::Write, &limits), Some(limits.write_timeout));
        assert_eq!(timeout_of(TimerKind::Idle, &limits), Some(limits.idle_timeout));
        assert_eq!(timeout_of(TimerKind::Header, &limits), Some(limits.header_timeout));
        assert_eq!(timeout_of(TimerKind::Body, &limits), Some(limits.body_timeout));
        assert_eq!(timeout_of(TimerKind::Linger, &limits), Some(LINGER));
        assert_eq!(timeout_of(TimerKind::None, &limits), None);
    }
}
