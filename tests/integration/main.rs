//! Integration tests: the real `sandlog` binary on real configs and real
//! Python scripts, checking what comes out on stdout, in files and in the
//! host log.

mod util;

mod api;
mod config_errors;
mod lifecycle;
mod output;
