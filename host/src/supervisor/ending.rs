//! How a source's run ended, and how each ending is reported: the
//! script's exceptions with their tracebacks, the guest's traps with their
//! reason, all bounded so that a script cannot make the host log grow
//! without bound.

use crate::bindings::Failure;

/// How a source's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It could not start: the code did not load, or init() refused.
    NotStarted,
    /// It was stopped while it waited for its turn to start.
    Cancelled,
    /// run() returned.
    Returned,
    /// run() raised an exception.
    Raised,
    /// The guest trapped (a limit, os._exit(), a fault).
    Trapped,
    /// run() did not return within the exit grace and was interrupted.
    Interrupted,
    /// Its memory went above `recycle_above`: it was asked to exit and
    /// starts again in a fresh instance.
    Recycled,
    /// The guest hit one of its policy's limits and run() ended for it (a
    /// trap at `max_handles`, a `MemoryError` out of run()): the script's
    /// doing, reported as the limit it hit.
    LimitHit,
    /// The host could not give the source what its config grants (a state
    /// directory or a mount it cannot open): not the script's fault, and
    /// not restarted; the operator fixes it and reloads.
    HostFault,
}

impl Ending {
    /// The `ending` label of `sandlog_source_endings_total`.
    pub fn label(self) -> &'static str {
        match self {
            Ending::NotStarted => "not_started",
            Ending::Cancelled => "cancelled",
            Ending::Returned => "returned",
            Ending::Raised => "raised",
            Ending::Trapped => "trapped",
            Ending::Interrupted => "interrupted",
            Ending::Recycled => "recycled",
            Ending::LimitHit => "limit",
            Ending::HostFault => "host_fault",
        }
    }
}

/// The ending of a run() call, reported.
pub fn classify_run(result: wasmtime::Result<Result<(), Failure>>) -> Ending {
    match result {
        Ok(Ok(())) => {
            tracing::info!("run() returned");
            Ending::Returned
        }
        Ok(Err(f)) if f.kind == "MemoryError" => {
            report_failure("limit hit (the policy's `memory`): run() raised", &f);
            Ending::LimitHit
        }
        Ok(Err(f)) => {
            report_failure("run() raised", &f);
            Ending::Raised
        }
        Err(trap) => report_trap("run()", &trap),
    }
}

/// Longest part of a failure report (exception name, message, traceback)
/// that is logged.
const MAX_REPORT: usize = 16 * 1024;

/// Logs a Python exception that escaped a source method.
pub fn report_failure(what: &str, f: &Failure) {
    // The first line is the script's to fill, so its line breaks are
    // escaped; the traceback is indented so that no line of it can pass
    // for a log line of its own (of another source, say).
    let one_line = |s: &str| clip(s).replace('\n', "\\n").replace('\r', "\\r");
    let traceback: String = clip(&f.traceback)
        .lines()
        .map(|l| format!("\n    | {l}"))
        .collect();
    tracing::error!(exception = %one_line(&f.kind), "{what}: {}: {}{traceback}", one_line(&f.kind), one_line(&f.message));
}

fn clip(s: &str) -> std::borrow::Cow<'_, str> {
    if s.len() <= MAX_REPORT {
        return s.into();
    }
    let mut end = MAX_REPORT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... [{} bytes cut]", &s[..end], s.len() - end).into()
}

/// Logs a trap of the guest during `what`, with its reason; returns the
/// ending it makes.
pub fn report_trap(what: &str, trap: &wasmtime::Error) -> Ending {
    if let Some(exit) = trap.downcast_ref::<wasmtime_wasi::I32Exit>() {
        // WASI preview 2 carries only success or failure, not the code the
        // script passed to os._exit().
        let status = if exit.0 == 0 { "success" } else { "failure" };
        tracing::error!(
            code = exit.0,
            "{what}: the script ended its interpreter (os._exit() or a fatal error; exit status {status}); the source cannot go on"
        );
        return Ending::Trapped;
    }
    // The chain with the guest's wasm backtrace; the host's own backtrace
    // says nothing about the script.
    let error = trap_text(trap);
    if error.contains("resource table has no free keys") {
        tracing::error!(
            error,
            limit = "max_handles",
            "{what}: limit hit: the guest holds more handles (files, sockets, streams) than its policy's max_handles allows"
        );
        Ending::LimitHit
    } else {
        tracing::error!(error, "{what}: the guest trapped");
        Ending::Trapped
    }
}

/// The chain of a trap, as `{:#}` writes it, without the core dump that
/// every trap carries (its list of globals alone is thousands of lines).
fn trap_text(trap: &wasmtime::Error) -> String {
    use std::fmt::Write as _;
    const DUMP: &str = "wasm coredump generated";
    /// Keeps the first bytes of what is written, then stops the writing.
    struct Head(String);
    impl std::fmt::Write for Head {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            let room = DUMP.len().saturating_sub(self.0.len());
            self.0.extend(s.chars().take(room));
            if self.0.len() >= DUMP.len() {
                return Err(std::fmt::Error);
            }
            Ok(())
        }
    }
    let mut text = String::new();
    for layer in trap.chain() {
        let mut head = Head(String::new());
        let _ = write!(head, "{layer}");
        if head.0.starts_with(DUMP) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        let _ = write!(text, "{layer}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raised(kind: &str) -> wasmtime::Result<Result<(), Failure>> {
        Ok(Err(Failure {
            kind: kind.into(),
            message: String::new(),
            traceback: String::new(),
        }))
    }

    #[test]
    fn a_memory_error_out_of_run_is_a_limit_hit() {
        assert_eq!(classify_run(raised("MemoryError")), Ending::LimitHit);
        assert_eq!(classify_run(raised("ValueError")), Ending::Raised);
        assert_eq!(classify_run(Ok(Ok(()))), Ending::Returned);
        let trap = wasmtime::Error::msg("resource table has no free keys");
        assert_eq!(classify_run(Err(trap)), Ending::LimitHit);
        let trap = wasmtime::Error::msg("wasm trap: call stack exhausted");
        assert_eq!(classify_run(Err(trap)), Ending::Trapped);
    }
}
