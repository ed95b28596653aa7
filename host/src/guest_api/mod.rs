//! The trust boundary: everything a guest can send to the host arrives
//! here. [`host`] implements the WIT `host` interface for one source;
//! [`gate`] turns what the guest sends into checked values, and nothing
//! past it reads the guest's data unchecked; [`control`] is how the
//! supervisor's exit requests reach a source; [`pending`] takes what a
//! guest posted but could not hand over out of its memory.

pub mod control;
pub mod gate;
pub mod host;
pub mod pending;
pub mod tls;

pub use control::{Control, Hearing};
pub use host::GuestApi;
