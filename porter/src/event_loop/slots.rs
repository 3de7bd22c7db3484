//! A slab of connections whose slots carry a generation.
//!
//! A freed slot is reused for the next connection with its generation bumped, so
//! a [`Token`] minted for the old occupant no longer resolves: a stale epoll
//! event or timer for a closed connection finds nothing.

use crate::sys::poller::Token;

/// Slot indices at or above this are reserved for the loop's own fds.
pub(crate) const FIRST_RESERVED: u32 = u32::MAX - 1024;

struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

/// Values addressed by generation-checked tokens.
pub(crate) struct Slots<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    live: usize,
}

impl<T> Slots<T> {
    pub(crate) fn new() -> Self {
        Slots { slots: Vec::new(), free: Vec::new(), live: 0 }
    }

    /// Number of live values.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    /// The token the next [`Slots::insert`] will return (so the value may be
    /// registered with epoll before it is stored), or `None` when full.
    pub(crate) fn next_token(&self) -> Option<Token> {
        match self.free.last() {
            Some(&i) => Some(Token::new(i, self.slots[i as usize].generation)),
            None if (self.slots.len() as u32) < FIRST_RESERVED => Some(Token::new(self.slots.len() as u32, 0)),
            None => None,
        }
    }

    /// Stores `value` at [`Slots::next_token`]'s slot.
    pub(crate) fn insert(&mut self, value: T) -> Token {
        self.live += 1;
        match self.free.pop() {
            Some(i) => {
                let slot = &mut self.slots[i as usize];
                slot.value = Some(value);
                Token::new(i, slot.generation)
            }
            None => {
                self.slots.push(Slot { generation: 0, value: Some(value) });
                Token::new(self.slots.len() as u32 - 1, 0)
            }
        }
    }

    /// The value for `token`, unless it has been removed since the token was made.
    pub(crate) fn get_mut(&mut self, token: Token) -> Option<&mut T> {
        let slot = self.slots.get_mut(token.slot() as usize)?;
        if slot.generation != token.generation() {
            return None;
        }
        slot.value.as_mut()
    }

    /// Removes and returns the value for `token`; its slot's generation moves on.
    pub(crate) fn remove(&mut self, token: Token) -> Option<T> {
        let slot = self.slots.get_mut(token.slot() as usize)?;
        if slot.generation != token.generation() {
            return None;
        }
        let value = slot.value.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(token.slot());
        self.live -= 1;
        Some(value)
    }

    /// The tokens of every live value.
    pub(crate) fn tokens(&self) -> Vec<Token> {
        let live = self.slots.iter().enumerate().filter(|(_, s)| s.value.is_some());
        live.map(|(i, s)| Token::new(i as u32, s.generation)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_tokens_do_not_resolve() {
        let mut s = Slots::new();
        let a = s.insert("a");
        assert_eq!(s.remove(a), Some("a"));
        let b = s.insert("b");
        assert_eq!(a.slot(), b.slot(), "slot reused");
        assert!(s.get_mut(a).is_none(), "old generation must not see the new tenant");
        assert!(s.remove(a).is_none());
        assert_eq!(s.get_mut(b), Some(&mut "b"));
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn next_token_predicts_insert() {
        let mut s = Slots::new();
        for i in 0..5 {
            let predicted = s.next_token().unwrap();
            let t = s.insert(i);
            assert_eq!(predicted, t);
            if i % 2 == 0 {
                s.remove(t);
            }
        }
    }
}
