//! epoll, edge-triggered, behind a five-call API (create, add, delete, wait, token).
//!
//! **Edge-triggered, registered once.** Every socket is added with
//! `EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET` when it is accepted and never
//! modified afterwards. The loop remembers readiness per connection (`readable`,
//! `writable`) and keeps reading or writing until the call returns `WouldBlock`.
//! This costs zero `epoll_ctl` calls per request (level-triggered mode would need
//! one each time output starts or stops pending), and backpressure is simply "do
//! not read now": the readiness flag stays set and the loop resumes the
//! connection from its ready list when there is room again.
//!
//! **Tokens carry a generation.** A token is `(generation << 32) | slot`. A slot is
//! reused after its connection is freed; an event still queued for the old
//! occupant carries the old generation and is dropped by the loop.
//!
//! **Delete before close.** [`Poller::delete`] must be called before the fd is
//! dropped: epoll tracks the open file description, not the fd number, and a
//! duplicated description would otherwise keep reporting events.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use rustix::buffer::spare_capacity;
use rustix::event::epoll::{self, CreateFlags, Event, EventData, EventFlags};
use rustix::event::Timespec;

/// Identifies a registered fd: a slot index and the generation of its occupant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Token(pub(crate) u64);

impl Token {
    /// Builds a token for `slot` occupied by its `generation`-th tenant.
    pub(crate) fn new(slot: u32, generation: u32) -> Self {
        Token((u64::from(generation) << 32) | u64::from(slot))
    }

    /// The slot index this token refers to.
    pub(crate) fn slot(self) -> u32 {
        self.0 as u32
    }

    /// The generation of the slot's occupant when the token was made.
    pub(crate) fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

/// What an event says about its fd.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Readiness {
    /// Data (or EOF) can be read.
    pub(crate) readable: bool,
    /// The send buffer has room (or the socket is in error: the write will say).
    pub(crate) writable: bool,
    /// The peer closed its side (EPOLLRDHUP) or the socket hung up or failed.
    pub(crate) hangup: bool,
}

/// One epoll instance and its event buffer. Not `Send` (rustix's event data may
/// hold a pointer): a poller is created on the thread that waits on it.
pub(crate) struct Poller {
    epoll: OwnedFd,
    events: Vec<Event>,
}

impl Poller {
    /// Creates an epoll instance (close-on-exec) able to report `capacity` events per wait.
    pub(crate) fn new(capacity: usize) -> io::Result<Self> {
        let epoll = epoll::create(CreateFlags::CLOEXEC)?;
        Ok(Poller { epoll, events: Vec::with_capacity(capacity.max(1)) })
    }

    /// The epoll fd itself (pollable: readable when events are pending).
    pub(crate) fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.epoll.as_fd()
    }

    /// Registers a socket, edge-triggered for reading and writing.
    pub(crate) fn add_socket(&self, fd: impl AsFd, token: Token) -> io::Result<()> {
        let flags = EventFlags::IN | EventFlags::OUT | EventFlags::RDHUP | EventFlags::ET;
        Ok(epoll::add(&self.epoll, fd, EventData::new_u64(token.0), flags)?)
    }

    /// Registers a listener or a wake-up fd: edge-triggered, read side only.
    pub(crate) fn add_reader(&self, fd: impl AsFd, token: Token) -> io::Result<()> {
        let flags = EventFlags::IN | EventFlags::ET;
        Ok(epoll::add(&self.epoll, fd, EventData::new_u64(token.0), flags)?)
    }

    /// Registers a listening socket that other workers' pollers watch too:
    /// like [`Poller::add_reader`], plus `EPOLLEXCLUSIVE` so that a new
    /// connection wakes one waiting worker, not all of them. Kernels before
    /// 4.5 refuse the flag; then every worker wakes and all but one find
    /// nothing to accept.
    pub(crate) fn add_shared_listener(&self, fd: impl AsFd, token: Token) -> io::Result<()> {
        let flags = EventFlags::IN | EventFlags::ET | EventFlags::EXCLUSIVE;
        match epoll::add(&self.epoll, &fd, EventData::new_u64(token.0), flags) {
            Err(rustix::io::Errno::INVAL) => self.add_reader(fd, token),
            other => Ok(other?),
        }
    }

    /// Removes an fd; call before dropping it.
    pub(crate) fn delete(&self, fd: impl AsFd) -> io::Result<()> {
        Ok(epoll::delete(&self.epoll, fd)?)
    }

    /// Waits up to `timeout` (forever if `None`) and returns the events that fired.
    /// An interrupted wait (EINTR) returns no events.
    pub(crate) fn wait(
        &mut self,
        timeout: Option<Duration>,
    ) -> io::Result<impl Iterator<Item = (Token, Readiness)> + '_> {
        self.events.clear();
        let spec = timeout.map(|d| Timespec {
            tv_sec: d.as_secs().min(i64::MAX as u64) as i64,
            tv_nsec: i64::from(d.subsec_nanos()),
        });
        match epoll::wait(&self.epoll, spare_capacity(&mut self.events), spec.as_ref()) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(self.events.iter().map(|e| (Token(e.data.u64()), readiness(e.flags))))
    }
}

fn readiness(flags: EventFlags) -> Readiness {
    let hangup = flags.intersects(EventFlags::HUP | EventFlags::ERR | EventFlags::RDHUP);
    Readiness {
        // A hang-up is reported as readable: the next read returns EOF or the error.
        readable: flags.intersects(EventFlags::IN | EventFlags::PRI) || hangup,
        writable: flags.intersects(EventFlags::OUT | EventFlags::ERR | EventFlags::HUP),
        hangup,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trips_slot_and_generation() {
        let t = Token::new(7, 0xdead_beef);
        assert_eq!(t.slot(), 7);
        assert_eq!(t.generation(), 0xdead_beef);
        assert_ne!(Token::new(7, 1), Token::new(7, 2));
    }

    #[test]
    fn wait_with_nothing_registered_times_out_empty() {
        let mut p = Poller::new(8).unwrap();
        assert_eq!(p.wait(Some(Duration::from_millis(0))).unwrap().count(), 0);
    }
}
