//! The way of a source's messages once the gate has checked them:
//!
//! - [`message`]: a checked message, borrowed from the guest's block;
//! - [`delivery`]: one source's side: rendering, batches, ack counting;
//! - [`render`]: the formats (JSON, RFC 5424, RFC 3164) and framings;
//! - [`queue`]: the bounded queues to the destinations, and the chunks;
//! - [`acks`]: how far each source's messages have been written.

pub mod acks;
pub mod delivery;
pub mod message;
pub mod queue;
pub mod render;
