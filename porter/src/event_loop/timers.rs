//! Deadlines for connections: a min-heap with lazy deletion.
//!
//! Each connection has at most one timeout that applies at a time (header, body,
//! idle, write or linger) and so one deadline. The heap may hold older entries for
//! it; an entry fires only if it still matches the deadline the loop last
//! scheduled for that token, so moving a deadline needs no heap search.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use crate::sys::poller::Token;

/// Pending deadlines, earliest first.
#[derive(Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
}

impl Timers {
    /// Schedules `token` at `when`.
    pub(crate) fn schedule(&mut self, when: Instant, token: Token) {
        self.heap.push(Reverse((when, token.0)));
    }

    /// How long until the earliest entry is due (zero if overdue), if any.
    pub(crate) fn next_in(&self, now: Instant) -> Option<Duration> {
        self.heap.peek().map(|Reverse((when, _))| when.saturating_duration_since(now))
    }

    /// Pops one entry due at or before `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Instant, Token)> {
        match self.heap.peek() {
            Some(Reverse((when, _))) if *when <= now => {
                self.heap.pop().map(|Reverse((when, token))| (when, Token(token)))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_deadline_order_only_when_due() {
        let now = Instant::now();
        let mut t = Timers::default();
        t.schedule(now + Duration::from_secs(2), Token(2));
        t.schedule(now + Duration::from_secs(1), Token(1));
        assert!(t.pop_due(now).is_none());
        assert_eq!(t.next_in(now), Some(Duration::from_secs(1)));
        let later = now + Duration::from_secs(5);
        assert_eq!(t.pop_due(later).map(|(_, tok)| tok), Some(Token(1)));
        assert_eq!(t.pop_due(later).map(|(_, tok)| tok), Some(Token(2)));
        assert!(t.pop_due(later).is_none());
    }
}
