//! sandlog runs untrusted Python log sources, written against the
//! AxoSyslog/syslog-ng Python API, each in its own WebAssembly sandbox, and
//! delivers their messages to log pipelines.
//!
//! The rooms, from the top down (each depends only on those below it):
//! - [`supervisor`]: drives every source through its lifecycle, restarts,
//!   reloads, stops them on a signal; `sandlog check`.
//! - [`config`]: the TOML configuration, parsed and validated in one place.
//! - [`sandbox`]: one source's store: its policy, network grant, files,
//!   limits and stdio.
//! - [`guest_api`]: the trust boundary: the host side of the WIT
//!   interface, and the gate every message from a guest passes.
//! - [`sinks`]: the destinations, one writer per kind.
//! - [`pipeline`]: a checked message on its way: rendering, batches, the
//!   queues to the destinations, acks.
//! - [`engine`]: the wasmtime engine, the compiled guest and the caches.
//! - [`metrics`], [`logging`], [`bindings`]: counters, the host's own log,
//!   and the types generated from `wit/`, which every room may use.
//!
//! `docs/architecture.md` tells the path of a message through them.

pub mod bindings;
pub mod config;
pub mod engine;
pub mod guest_api;
pub mod logging;
pub mod metrics;
pub mod pipeline;
pub mod sandbox;
pub mod sinks;
pub mod supervisor;
