//! sandlog runs untrusted Python log sources, written against the
//! AxoSyslog/syslog-ng Python API, each in its own WebAssembly sandbox, and
//! delivers their messages to log pipelines.
//!
//! A map of the crate:
//! - [`config`]: the TOML configuration, parsed and validated in one place.
//! - [`policy`]: what a sandbox grants and how it is bounded.
//! - [`runtime`]: the wasmtime engine, the guest component and its caches.
//! - [`bytecode`]: scripts compiled once and shared by their instances.
//! - [`sandbox`]: one source's store: its WASI context and the host side of
//!   the guest's imports (the hot path from `post_message` to a sink).
//! - [`delivery`]: a source's messages from the guest's blocks to the
//!   destinations: the hot path.
//! - [`render`]: turns a guest message into a JSON line, or frames it.
//! - [`syslog_format`]: the RFC 5424 and RFC 3164 renderings.
//! - [`sink`]: the destinations that lines are written to.
//! - [`acks`]: how far each source's messages have been written.
//! - [`start_gate`]: lets sources start one at a time.
//! - [`supervisor`]: drives every source through its lifecycle and stops
//!   them on a signal.
//! - [`logging`]: the host's own log.
//! - [`metrics`]: counters per source and destination, served for Prometheus.

pub mod acks;
pub mod bindings;
pub mod bytecode;
pub mod config;
pub mod delivery;
pub mod logging;
pub mod metrics;
pub mod policy;
pub mod render;
pub mod runtime;
pub mod sandbox;
pub mod sink;
pub mod start_gate;
pub mod supervisor;
pub mod syslog_format;
