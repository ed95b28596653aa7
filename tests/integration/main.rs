//! Integration tests: the real `sandlog` binary on real configs and real
//! Python scripts, checking what comes out on stdout, in files and in the
//! host log.

// Test code fails by panicking; the no-panic lints are for the product.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod util;

mod api;
mod config_errors;
mod differential;
mod fairness;
mod flow;
mod hostile;
mod kafka;
mod kubernetes;
mod lifecycle;
mod metrics;
mod native;
mod otlp;
mod output;
mod pending;
mod policy;
mod relp;
mod shard;
mod syslog;
mod tls;
