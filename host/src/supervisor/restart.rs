//! One source over its whole run: instance after instance, each fresh (its
//! state directory kept), as its restart policy says, with exponential
//! backoff, until it finishes, is stopped, or sandlog gives up on it.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use tokio::sync::watch;

use super::ending::Ending;
use super::lifecycle::lifecycle;
use super::{SourceEnv, Stop};
use crate::config::{Restart, SourceSpec};
use crate::metrics::State;

/// Runs one source until it has ended for good; returns its name and how.
pub async fn run_source(
    spec: SourceSpec,
    env: Arc<SourceEnv>,
    mut stop: watch::Receiver<Stop>,
) -> (String, Ending) {
    let name = spec.name.clone();
    let policy = &spec.restart;
    let mut backoff = policy.backoff;
    let mut restarts = 0u32;
    loop {
        let metrics = env.registry.source(&name);
        metrics.set_state(State::Starting);
        metrics.new_instance();
        let ending = match lifecycle(&spec, &env, stop.clone(), metrics.clone()).await {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(
                    error = format!("{e:#}"),
                    "host fault (not the script's): the source cannot be given what its config grants; not restarted, fix and reload"
                );
                Ending::HostFault
            }
        };
        metrics.ended(ending.label());
        metrics.set_state(State::Ended);
        if *stop.borrow() != Stop::Running {
            return (name, ending);
        }
        if ending == Ending::Recycled {
            metrics.recycles.fetch_add(1, Relaxed);
            tracing::info!("recycled: starting again in a fresh instance");
            continue;
        }
        let Some(reason) = restart_reason(&ending, policy.when) else {
            return (name, ending);
        };
        if policy.limit > 0 && restarts >= policy.limit {
            tracing::error!(
                restarts,
                "{reason}; giving up after {restarts} restarts (restart_limit)"
            );
            return (name, ending);
        }
        restarts += 1;
        metrics.restarts.fetch_add(1, Relaxed);
        metrics.set_state(State::Restarting);
        tracing::warn!(restart = restarts, wait = ?backoff, "{reason}; restarting in a fresh instance");
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => return (name, ending),
        }
        backoff = (backoff * 2).min(policy.backoff_max);
    }
}

/// Why a source that ended so is started again under `when`, if it is.
fn restart_reason(ending: &Ending, when: Restart) -> Option<&'static str> {
    match (ending, when) {
        (_, Restart::Never)
        | (
            Ending::NotStarted
            | Ending::Cancelled
            | Ending::Interrupted
            | Ending::Recycled
            | Ending::HostFault,
            _,
        ) => None,
        (Ending::Returned, Restart::OnFailure) => None,
        (Ending::Returned, Restart::Always) => Some("run() returned"),
        (Ending::Raised, _) => Some("run() raised"),
        (Ending::Trapped, _) => Some("the guest trapped"),
        (Ending::LimitHit, _) => Some("the guest hit a limit of its policy"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_restart_unless_never() {
        assert_eq!(
            restart_reason(&Ending::Raised, Restart::OnFailure),
            Some("run() raised")
        );
        assert_eq!(
            restart_reason(&Ending::Trapped, Restart::Always),
            Some("the guest trapped")
        );
        assert_eq!(restart_reason(&Ending::Raised, Restart::Never), None);
        assert_eq!(restart_reason(&Ending::Returned, Restart::OnFailure), None);
        assert_eq!(
            restart_reason(&Ending::Returned, Restart::Always),
            Some("run() returned")
        );
        assert_eq!(
            restart_reason(&Ending::LimitHit, Restart::OnFailure),
            Some("the guest hit a limit of its policy")
        );
        for e in [
            Ending::NotStarted,
            Ending::Cancelled,
            Ending::Interrupted,
            Ending::HostFault,
        ] {
            assert_eq!(restart_reason(&e, Restart::Always), None, "{e:?}");
        }
    }
}
