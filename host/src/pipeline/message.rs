//! A message as the pipeline takes it: its string pairs and its extras,
//! borrowed from the block the guest sent, already checked by the gate
//! ([`crate::guest_api::gate`]).

use crate::bindings::Extras;

/// One string pair: a name and its value's bytes.
pub type Pair<'a> = (&'a str, &'a [u8]);

/// One checked message.
#[derive(Clone, Copy)]
pub struct MessageView<'a> {
    pub pairs: &'a [Pair<'a>],
    pub extras: Option<&'a Extras>,
}

impl<'a> MessageView<'a> {
    /// The value of the string pair `name`, if the message has one.
    pub fn value(&self, name: &str) -> Option<&'a [u8]> {
        self.pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}

/// What the gate made of one block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verdict {
    /// Messages the block holds, as its counts say (refused ones
    /// included): the unit of the source's acks.
    pub posted: u64,
    /// Messages that passed and were handed on.
    pub accepted: u64,
}
