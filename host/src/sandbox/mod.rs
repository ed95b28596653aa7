//! One source's sandbox: what it grants and how it is bounded.
//!
//! - [`policy`]: the checked policy a sandbox is built from;
//! - [`network`]: the network grant, checked on resolved addresses;
//! - [`paths`]: the guest's file system layout and the state directories;
//! - [`limits`]: memory, tables and instances per store;
//! - [`stdio`]: the guest's raw stdout and stderr, as host log lines;
//! - [`disk`]: size caps on the directories a guest may write;
//! - [`socket_errors`]: socket errors mended for the guest's C library;
//! - [`wait`]: the guest's WASI waits, ended early for an exit request;
//! - [`preopens`]: the directories a guest is given, the read-only
//!   standard library shared by all;
//! - [`store`]: the store of one source, built from all of the above;
//! - [`host_capacity`]: what the kernel lets one process hold, against
//!   what a number of sandboxes needs.

pub mod disk;
pub mod host_capacity;
pub mod limits;
pub mod network;
pub mod paths;
pub mod policy;
pub mod preopens;
pub mod socket_errors;
pub mod stdio;
pub mod store;
pub mod wait;

pub use policy::Policy;
pub use store::{SandboxSpec, Sandboxes, SourceState};
