//! Drives every source through its lifecycle, concurrently, each in its
//! own store, and stops them on a signal; one source's failure never stops
//! the others. The rooms:
//!
//! - this module: the run as a whole, its sources as named tasks, stop
//!   requests, reloads applied, destinations drained at the end;
//! - [`restart`]: one source over its run, instance after instance;
//! - [`lifecycle`]: one instance, step by step;
//! - [`guard`]: guest calls that a stop always ends;
//! - [`ending`]: how an instance ended, and how that is reported;
//! - [`reload`]: what a new configuration changes;
//! - [`start_gate`]: sources start one at a time;
//! - [`check`]: `sandlog check`.

pub mod check;
pub mod ending;
pub mod guard;
pub mod lifecycle;
pub mod reload;
pub mod restart;
pub mod start_gate;

use std::sync::Arc;

use anyhow::Result;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;

pub use self::check::check;
pub use self::ending::Ending;
use self::restart::run_source;
use self::start_gate::StartGate;
use crate::config::{Config, SourceSpec};
use crate::engine::Runtime;
use crate::metrics::Registry;
use crate::pipeline::queue::Sinks;
use crate::sandbox::Sandboxes;
use crate::sinks::SinkSet;

/// What a whole `run` did.
#[derive(Debug)]
pub struct Outcome {
    pub endings: Vec<(String, Ending)>,
    pub written: Vec<(String, u64)>,
}

impl Outcome {
    /// True when at least one source got as far as running, or was stopped
    /// before its turn to start came.
    pub fn any_started(&self) -> bool {
        self.endings
            .iter()
            .any(|(_, e)| !matches!(e, Ending::NotStarted | Ending::HostFault))
    }
}

/// How the host asks every source to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stop {
    Running,
    /// request_exit, then the exit grace.
    Graceful,
    /// Interrupt now.
    Immediate,
}

/// Runs every source of `config` until all have ended, stopping them when
/// `stop` changes (a shard of a fleet, [`Config::shard`], runs until then
/// even when it has no source), and applying the configurations that
/// arrive on `reload`:
/// added sources start, removed ones are stopped (request_exit, grace,
/// deinit), changed ones are stopped and then started again with their new
/// settings, unchanged ones keep running untouched. A configuration whose
/// destinations differ is refused (they are opened once, at start).
pub async fn run(
    config: &Config,
    runtime: Arc<Runtime>,
    state_root: &std::path::Path,
    registry: Arc<Registry>,
    mut stop: watch::Receiver<Stop>,
    mut reload: tokio::sync::mpsc::Receiver<Config>,
) -> Result<Outcome> {
    let sinks = SinkSet::start(&config.destinations, &registry).await?;
    crate::sandbox::host_capacity::warn_if_short(config.sources.len());
    registry.health.watch_destinations(sinks.failed.clone());
    let env = Arc::new(SourceEnv {
        sandboxes: Sandboxes::new(&runtime)?,
        runtime,
        start_gate: StartGate::new(),
        hostname: gethostname::gethostname().to_string_lossy().into_owned(),
        sinks: sinks.sinks.clone(),
        state_root: state_root.to_owned(),
        registry,
        hearing: Default::default(),
    });
    let destinations = config.destinations.clone();
    let mut tasks = JoinSet::new();
    // Each running source, with its spec and its own stop signal.
    let mut running: std::collections::HashMap<String, (SourceSpec, watch::Sender<Stop>)> =
        std::collections::HashMap::new();
    // Changed sources that start again once their old instance has ended.
    let mut pending: std::collections::HashMap<String, SourceSpec> =
        std::collections::HashMap::new();
    let spawn = |tasks: &mut JoinSet<(String, Ending)>, spec: &SourceSpec| {
        let (tx, rx) = watch::channel(Stop::Running);
        env.registry.launching(&spec.name);
        let span = tracing::info_span!("source", source = %spec.name);
        tasks.spawn(run_source(spec.clone(), env.clone(), rx).instrument(span));
        tx
    };
    for spec in &config.sources {
        let tx = spawn(&mut tasks, spec);
        running.insert(spec.name.clone(), (spec.clone(), tx));
    }
    env.registry.health.launched();
    let mut failed = sinks.failed.clone();
    let mut failed_open = true;
    let mut endings = Vec::new();
    let mut stopping = false;
    let mut reload_open = true;
    let mut stop_open = true;
    // A node of a fleet runs until it is stopped, even with no source
    // (left): a reload may give it some, and its peers are symmetric.
    let idles = config.shard.is_some();
    loop {
        tokio::select! {
            joined = tasks.join_next(), if !(idles && !stopping && tasks.is_empty()) => {
                let Some(joined) = joined else { break };
                match joined {
                    Ok((name, ending)) => {
                        running.remove(&name);
                        if let Some(spec) = pending.remove(&name).filter(|_| !stopping) {
                            tracing::info!(source = %name, "starting again with its new settings");
                            let tx = spawn(&mut tasks, &spec);
                            running.insert(name, (spec, tx));
                        } else {
                            endings.push((name, ending));
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "a source task failed"),
                }
            }
            changed = stop.changed(), if stop_open => {
                if changed.is_err() {
                    stop_open = false;
                    continue;
                }
                let level = *stop.borrow_and_update();
                stopping = true;
                env.registry.health.stopping();
                env.hearing.stopping();
                pending.clear();
                for (_, tx) in running.values() {
                    let _ = tx.send(level);
                }
            }
            // A destination that gave up cannot take the sources' messages:
            // stop as on SIGTERM; the failure makes the exit status 1.
            changed = failed.changed(), if failed_open && !stopping => {
                let why = failed.borrow_and_update().clone();
                match (changed, why) {
                    (Ok(()), Some(why)) => {
                        tracing::error!("{why}; stopping: asking every source to exit");
                        stopping = true;
                        env.registry.health.stopping();
                        env.hearing.stopping();
                        pending.clear();
                        for (_, tx) in running.values() {
                            let _ = tx.send(Stop::Graceful);
                        }
                    }
                    // Every writer has ended: nothing more can fail.
                    (Err(_), _) => failed_open = false,
                    (Ok(()), None) => {}
                }
            }
            next = reload.recv(), if reload_open && !stopping => {
                let Some(new) = next else {
                    reload_open = false;
                    continue;
                };
                if new.destinations != destinations {
                    tracing::error!("reload refused: the destinations changed; restart sandlog to apply them");
                    continue;
                }
                let plan = reload::plan(running.iter().map(|(n, (s, _))| (n, s)), &new.sources);
                for name in &plan.stop {
                    tracing::info!(source = %name, "removed from the configuration; stopping it");
                    if let Some((_, tx)) = running.get(name) {
                        let _ = tx.send(Stop::Graceful);
                    }
                    pending.remove(name);
                }
                for spec in &plan.start {
                    let tx = spawn(&mut tasks, spec);
                    running.insert(spec.name.clone(), (spec.clone(), tx));
                }
                for name in &plan.unchanged {
                    pending.remove(name);
                }
                for spec in &plan.restart {
                    tracing::info!(source = %spec.name, "changed in the configuration; restarting it");
                    if let Some((_, tx)) = running.get(&spec.name) {
                        let _ = tx.send(Stop::Graceful);
                    }
                    pending.insert(spec.name.clone(), spec.clone());
                }
                let (added, removed, changed) = (plan.start.len(), plan.stop.len(), plan.restart.len());
                tracing::info!(added, removed, changed, "configuration reloaded");
            }
            // Only an idle shard whose stop signal is gone gets here.
            else => break,
        }
    }
    drop(env);
    let written = sinks.finish().await?;
    Ok(Outcome { endings, written })
}

/// What every source of a run shares.
pub struct SourceEnv {
    pub registry: Arc<Registry>,
    pub runtime: Arc<Runtime>,
    pub sandboxes: Sandboxes,
    pub start_gate: StartGate,
    pub hostname: String,
    pub sinks: Sinks,
    pub state_root: std::path::PathBuf,
    /// The sources asked to exit that have not heard it yet.
    pub hearing: Arc<crate::guest_api::Hearing>,
}
