//! Drives every source through its lifecycle, concurrently, each in its
//! own store: instantiate, load, init, run, and on a stop request
//! request_exit, a bounded wait for run() to return, deinit. Every end is
//! classified and reported with the source's name; one source's failure
//! never stops the others.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::Instrument;
use wasmtime::Store;

use crate::bindings::exports::sandlog::guest::source::Setup;
use crate::bindings::{Failure, SandlogSource};
use crate::bytecode::ScriptKey;
use crate::config::{Config, Restart, SourceSpec};
use crate::metrics::{Registry, SourceMetrics, State};
use crate::runtime::Runtime;
use crate::sandbox::{self, Control, SourceState};
use crate::sink::{SinkSet, Sinks};

/// How a source's run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

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
        self.endings.iter().any(|(_, e)| *e != Ending::NotStarted)
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
/// `stop` changes, and applying the configurations that arrive on `reload`:
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
    let env = Arc::new(SourceEnv {
        runtime,
        hostname: gethostname::gethostname().to_string_lossy().into_owned(),
        sinks: sinks.sinks.clone(),
        state_root: state_root.to_owned(),
        registry,
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
        let span = tracing::info_span!("source", source = %spec.name);
        tasks.spawn(run_source(spec.clone(), env.clone(), rx).instrument(span));
        tx
    };
    for spec in &config.sources {
        let tx = spawn(&mut tasks, spec);
        running.insert(spec.name.clone(), (spec.clone(), tx));
    }
    let mut failed = sinks.failed.clone();
    let mut failed_open = true;
    let mut endings = Vec::new();
    let mut stopping = false;
    let mut reload_open = true;
    let mut stop_open = true;
    loop {
        tokio::select! {
            joined = tasks.join_next() => {
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
                let (mut added, mut removed, mut changed) = (0, 0, 0);
                for (name, (_, tx)) in &running {
                    if !new.sources.iter().any(|s| &s.name == name) {
                        tracing::info!(source = %name, "removed from the configuration; stopping it");
                        let _ = tx.send(Stop::Graceful);
                        pending.remove(name);
                        removed += 1;
                    }
                }
                for spec in &new.sources {
                    match running.get(&spec.name) {
                        None => {
                            let tx = spawn(&mut tasks, spec);
                            running.insert(spec.name.clone(), (spec.clone(), tx));
                            added += 1;
                        }
                        Some((old, _)) if old == spec => {
                            pending.remove(&spec.name);
                        }
                        Some((_, tx)) => {
                            tracing::info!(source = %spec.name, "changed in the configuration; restarting it");
                            let _ = tx.send(Stop::Graceful);
                            pending.insert(spec.name.clone(), spec.clone());
                            changed += 1;
                        }
                    }
                }
                tracing::info!(added, removed, changed, "configuration reloaded");
            }
        }
    }
    drop(env);
    let written = sinks.finish().await?;
    Ok(Outcome { endings, written })
}

/// What every source of a run shares.
struct SourceEnv {
    registry: Arc<Registry>,
    runtime: Arc<Runtime>,
    hostname: String,
    sinks: Sinks,
    state_root: std::path::PathBuf,
}

/// Runs one source, restarting it (each time in a fresh instance, its
/// state directory kept) as its restart policy says, with exponential
/// backoff, until it finishes, is stopped, or sandlog gives up on it.
async fn run_source(
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
                tracing::error!(error = format!("{e:#}"), "source failed");
                Ending::Trapped
            }
        };
        metrics.set_state(State::Ended);
        if *stop.borrow() != Stop::Running {
            return (name, ending);
        }
        if ending == Ending::Recycled {
            metrics
                .recycles
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::info!("recycled: starting again in a fresh instance");
            continue;
        }
        let reason = match (&ending, policy.when) {
            (_, Restart::Never)
            | (
                Ending::NotStarted | Ending::Cancelled | Ending::Interrupted | Ending::Recycled,
                _,
            ) => None,
            (Ending::Returned, Restart::OnFailure) => None,
            (Ending::Returned, Restart::Always) => Some("run() returned"),
            (Ending::Raised, _) => Some("run() raised"),
            (Ending::Trapped, _) => Some("the guest trapped"),
        };
        let Some(reason) = reason else {
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
        metrics
            .restarts
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        metrics.set_state(State::Restarting);
        tracing::warn!(restart = restarts, wait = ?backoff, "{reason}; restarting in a fresh instance");
        tokio::select! {
            () = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => return (name, ending),
        }
        backoff = (backoff * 2).min(policy.backoff_max);
    }
}

async fn lifecycle(
    spec: &SourceSpec,
    env: &SourceEnv,
    mut stop: watch::Receiver<Stop>,
    metrics: Arc<SourceMetrics>,
) -> Result<Ending> {
    let control = Arc::new(Control::default());
    let runtime = &env.runtime;
    // A stop that comes while the source waits for its turn ends it there:
    // starting it only to stop it would delay the stop of the whole run.
    let stopped = async {
        if stop.wait_for(|s| *s != Stop::Running).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let pass = tokio::select! {
        pass = runtime.start_gate.enter() => pass,
        () = stopped => {
            tracing::debug!("stopped before its turn to start");
            return Ok(Ending::Cancelled);
        }
    };
    let started = Instant::now();
    let sinks = match &spec.destinations {
        Some(which) => env.sinks.select(which),
        None => env.sinks.clone(),
    };
    let mut store = sandbox::new_store(
        runtime,
        spec,
        &env.hostname,
        sinks,
        control.clone(),
        Some(&env.state_root),
        metrics.clone(),
    )?;
    let guest = match runtime.pre.instantiate_async(&mut store).await {
        Ok(g) => g,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "cannot instantiate the guest");
            return Ok(Ending::NotStarted);
        }
    };
    let instantiated = started.elapsed();
    let src = guest.sandlog_guest_source();
    let mut setup = setup(spec);
    let grace = spec.policy.exit_grace;
    let guard = Guard {
        grace,
        control: &control,
    };
    if !spec.code.is_empty() {
        // Compiled here, before anything of the script runs in this
        // instance, unless an earlier instance of the script did so.
        let key = ScriptKey::new(&spec.filename, &spec.code);
        setup.bytecode = match runtime.bytecode.get(&key) {
            Some(bytecode) => bytecode.to_string(),
            None => {
                let call = src.call_compile(&mut store, &spec.code, &spec.filename);
                let what = "compiling the script";
                let compiled = guard.call(&mut stop, what, false, call).await;
                let Some(bytecode) = starting(what, "cannot load the source", compiled) else {
                    return Ok(Ending::NotStarted);
                };
                runtime.bytecode.insert(key, bytecode.as_str().into());
                bytecode
            }
        };
    }
    let call = src.call_load(&mut store, &setup);
    let what = "loading the source";
    let load = guard.call(&mut stop, what, false, call).await;
    if starting(what, "cannot load the source", load).is_none() {
        return Ok(Ending::NotStarted);
    }
    let loaded = started.elapsed();
    let call = src.call_init(&mut store, &spec.options);
    let inited = guard.call(&mut stop, "init()", false, call).await;
    match starting("init()", "init() raised; the source does not start", inited) {
        Some(true) => {}
        Some(false) => {
            tracing::error!("init() returned a false value; the source does not start");
            return Ok(Ending::NotStarted);
        }
        None => return Ok(Ending::NotStarted),
    }
    let elapsed = started.elapsed();
    tracing::debug!(
        ?elapsed,
        instantiate = ?instantiated,
        load = ?(loaded - instantiated),
        init = ?(elapsed - loaded),
        "instantiated and initialised"
    );
    drop(pass);

    if *stop.borrow() != Stop::Running {
        control.mark_told();
        deinit(&guard, &mut stop, &guest, &mut store).await;
        return Ok(Ending::Returned);
    }

    tracing::debug!(policy = ?spec.policy, "effective policy");
    tracing::info!("running");
    metrics.set_state(State::Running);
    let recycling = Arc::new(AtomicBool::new(false));
    let watcher = spec
        .policy
        .recycle_above
        .map(|limit| watch_memory(limit, &metrics, &control, &recycling));
    let ran = guard
        .call(&mut stop, "run()", true, src.call_run(&mut store))
        .await;
    if let Some(w) = watcher {
        w.abort();
    }
    let ending = match ran {
        Guarded::Done(result) => classify_run(result),
        Guarded::Interrupted => Ending::Interrupted,
    };
    store.data_mut().finish().await;
    if matches!(ending, Ending::Returned | Ending::Raised) {
        settle_acks(&guard, &mut stop, &guest, &mut store).await;
        deinit(&guard, &mut stop, &guest, &mut store).await;
    }
    // A source asked to exit for recycling that returned (or had to be
    // interrupted) starts again; one that failed meanwhile is restarted
    // as a failure.
    let ending = match ending {
        Ending::Returned | Ending::Interrupted
            if recycling.load(Ordering::SeqCst) && *stop.borrow() == Stop::Running =>
        {
            Ending::Recycled
        }
        other => other,
    };
    let stats = store.data().stats();
    tracing::info!(
        messages = stats.messages,
        batches = stats.batches,
        bytes = stats.bytes,
        render_time = ?stats.render_time,
        ending = ?ending,
        "source ended"
    );
    Ok(ending)
}

/// How often a source's memory is compared with its `recycle_above`.
const RECYCLE_CHECK: Duration = Duration::from_secs(1);

/// Asks the source to exit once its linear memory is above `limit` (it
/// never shrinks, so once above it stays above), marking it for recycling.
/// An instance that is above the limit as soon as it runs is left alone:
/// recycling it would only start another such instance.
fn watch_memory(
    limit: u64,
    metrics: &Arc<SourceMetrics>,
    control: &Arc<Control>,
    recycling: &Arc<AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    let (metrics, control, recycling) = (metrics.clone(), control.clone(), recycling.clone());
    // Read before run() starts, which may grow it at once.
    let at_start = metrics.memory.load(Ordering::Relaxed);
    let task = async move {
        if at_start > limit {
            tracing::warn!(
                memory = at_start,
                recycle_above = limit,
                "the instance is above recycle_above as soon as it runs; it is not recycled"
            );
            return;
        }
        let mut tick = tokio::time::interval(RECYCLE_CHECK);
        loop {
            tick.tick().await;
            let memory = metrics.memory.load(Ordering::Relaxed);
            if memory > limit {
                tracing::info!(
                    memory,
                    recycle_above = limit,
                    "memory is above recycle_above; recycling: request_exit(), deinit(), a fresh instance"
                );
                recycling.store(true, Ordering::SeqCst);
                control.request_exit();
                return;
            }
        }
    };
    tokio::spawn(task.instrument(tracing::Span::current()))
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// Loads every source of `config` (compiles its code, runs its module
/// level, finds and checks its class) without calling init() or run(), each
/// in its own sandbox under its policy and bounded by its exit grace.
/// Returns each source's name and what is wrong with it, if anything.
pub async fn check(config: &Config, runtime: Arc<Runtime>) -> Vec<(String, Option<String>)> {
    let sinks = match SinkSet::start(&[], &Registry::default()).await {
        Ok(s) => s,
        Err(e) => return vec![("(destinations)".into(), Some(format!("{e:#}")))],
    };
    let mut results = Vec::new();
    for spec in &config.sources {
        let problem = check_one(spec, &runtime, sinks.sinks.clone())
            .await
            .err()
            .map(|e| format!("{e:#}"));
        results.push((spec.name.clone(), problem));
    }
    results
}

async fn check_one(spec: &SourceSpec, runtime: &Runtime, sinks: Sinks) -> Result<()> {
    let control = Arc::new(Control::default());
    let metrics = Arc::new(SourceMetrics::default());
    let mut store = sandbox::new_store(runtime, spec, "check", sinks, control, None, metrics)?;
    let guest = runtime.pre.instantiate_async(&mut store).await?;
    let setup = setup(spec);
    let call = guest.sandlog_guest_source().call_load(&mut store, &setup);
    match tokio::time::timeout(spec.policy.exit_grace, call).await {
        Ok(Ok(Ok(()))) => Ok(()),
        // The traceback ends with the exception; for a SyntaxError it shows
        // the file, the line and a caret.
        Ok(Ok(Err(f))) if !f.traceback.is_empty() => anyhow::bail!("{}", f.traceback),
        Ok(Ok(Err(f))) => anyhow::bail!("{}: {}", f.kind, f.message),
        Ok(Err(trap)) => anyhow::bail!("the guest trapped while loading: {trap:#}"),
        Err(_) => anyhow::bail!(
            "loading did not finish within the exit grace ({:?})",
            spec.policy.exit_grace
        ),
    }
}

fn setup(spec: &SourceSpec) -> Setup {
    Setup {
        name: spec.name.clone(),
        filename: spec.filename.clone(),
        code: spec.code.clone(),
        bytecode: String::new(),
        class_name: spec.class_name.clone(),
        buffer: spec.guest_buffer,
        max_message_size: u32::try_from(spec.policy.max_message_size).unwrap_or(u32::MAX),
        env: spec.policy.env.clone(),
        fetch_no_data_delay_ms: millis(spec.fetch_no_data_delay),
        time_reopen_ms: millis(spec.time_reopen),
        compat_3x: spec.compat_3x,
        window: spec.log_iw_size,
        parse_flags: spec.flags.clone(),
        python_path: (0..spec.python_path.len())
            .map(sandbox::python_path_mount)
            .collect(),
    }
}

/// How a guarded guest call ended.
enum Guarded<T> {
    Done(T),
    /// Stopped by the host: the call was dropped and the instance is gone.
    Interrupted,
}

/// Runs guest calls so that a stop always ends them: on a graceful stop a
/// call gets the exit grace (for run(), after request_exit), on an
/// immediate stop or when the grace has passed it is interrupted. Nothing a
/// guest does (a loop at import, in init or in deinit) can hold up a stop.
struct Guard<'a> {
    grace: Duration,
    control: &'a Control,
}

impl Guard<'_> {
    async fn call<T>(
        &self,
        stop: &mut watch::Receiver<Stop>,
        what: &str,
        request_exit: bool,
        call: impl std::future::Future<Output = T>,
    ) -> Guarded<T> {
        tokio::pin!(call);
        let mut stopping_since = match *stop.borrow() {
            Stop::Running => None,
            _ => Some(Instant::now()),
        };
        if stopping_since.is_some() && request_exit {
            self.control.request_exit();
        }
        let mut stop_open = true;
        loop {
            let deadline = async {
                match stopping_since {
                    Some(t) => tokio::time::sleep_until((t + self.grace).into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                result = &mut call => return Guarded::Done(result),
                changed = stop.changed(), if stop_open => {
                    if changed.is_err() {
                        stop_open = false;
                        continue;
                    }
                    let now = *stop.borrow_and_update();
                    match now {
                        Stop::Immediate => {
                            tracing::warn!("stopped at once; the guest is interrupted");
                            return Guarded::Interrupted;
                        }
                        Stop::Graceful if stopping_since.is_none() => {
                            if request_exit {
                                tracing::debug!("asking the source to exit");
                                self.control.request_exit();
                            }
                            stopping_since = Some(Instant::now());
                        }
                        _ => {}
                    }
                }
                () = deadline => {
                    let after = if request_exit { "request_exit()" } else { "the stop" };
                    tracing::error!(grace = ?self.grace, "{what} did not return within the exit grace after {after}; interrupted");
                    return Guarded::Interrupted;
                }
            }
        }
    }
}

fn classify_run(result: wasmtime::Result<Result<(), Failure>>) -> Ending {
    match result {
        Ok(Ok(())) => {
            tracing::info!("run() returned");
            Ending::Returned
        }
        Ok(Err(f)) => {
            report_failure("run() raised", &f);
            Ending::Raised
        }
        Err(trap) => {
            report_trap("run()", &trap);
            Ending::Trapped
        }
    }
}

/// After run(): the acks of what the source posted reach its ack tracker
/// before deinit(), so that a source keeping its position in Persist keeps
/// the last one. The destinations get the exit grace to write what is
/// still waiting; what they have not written by then is not acked, and a
/// source that resumes from its acks reads it again after a restart.
async fn settle_acks(
    guard: &Guard<'_>,
    stop: &mut watch::Receiver<Stop>,
    guest: &SandlogSource,
    store: &mut Store<SourceState>,
) {
    let src = guest.sandlog_guest_source();
    let (posted, acks) = store.data().acks();
    let mut waited = false;
    loop {
        let acked = acks.acked();
        let call = tokio::time::timeout(guard.grace, src.call_acknowledge(&mut *store, acked));
        let waiting = match guard.call(stop, "the ack callbacks", false, call).await {
            // The guest has bookmarks past what is acked.
            Guarded::Done(Ok(Ok(Ok(waiting)))) => waiting,
            Guarded::Done(Ok(Ok(Err(f)))) => {
                report_failure("an ack callback raised", &f);
                return;
            }
            Guarded::Done(Ok(Err(trap))) => {
                report_trap("the ack callbacks", &trap);
                return;
            }
            Guarded::Done(Err(_)) => {
                tracing::error!(grace = ?guard.grace, "the ack callbacks did not return within the exit grace; interrupted");
                return;
            }
            Guarded::Interrupted => return,
        };
        if !waiting || acked >= posted {
            return;
        }
        if waited {
            tracing::warn!(
                unacked = posted - acked,
                grace = ?guard.grace,
                "messages not written within the exit grace after run() returned; their ack callbacks are not called"
            );
            return;
        }
        waited = true;
        let _ = tokio::time::timeout(guard.grace, acks.reached(posted)).await;
    }
}

async fn deinit(
    guard: &Guard<'_>,
    stop: &mut watch::Receiver<Stop>,
    guest: &SandlogSource,
    store: &mut Store<SourceState>,
) {
    let src = guest.sandlog_guest_source();
    // deinit() runs while stopping as often as not: it gets its own grace,
    // whether or not a stop is already under way.
    let call = tokio::time::timeout(guard.grace, src.call_deinit(&mut *store));
    match guard.call(stop, "deinit()", false, call).await {
        Guarded::Done(Ok(Ok(Ok(())))) => {}
        Guarded::Done(Ok(Ok(Err(f)))) => report_failure("deinit() raised", &f),
        Guarded::Done(Ok(Err(trap))) => report_trap("deinit()", &trap),
        Guarded::Done(Err(_)) => {
            tracing::error!(grace = ?guard.grace, "deinit() did not return within the exit grace; interrupted")
        }
        Guarded::Interrupted => {}
    }
}

/// Longest part of a failure report (exception name, message, traceback)
/// that is logged; a script cannot make the host log grow without bound.
const MAX_REPORT: usize = 16 * 1024;

/// The result of the guest call `what` made while a source starts
/// (compiling, loading, init()); None, with the exception (as `raised`
/// says) or the trap reported, when the source cannot start.
fn starting<T>(
    what: &str,
    raised: &str,
    call: Guarded<wasmtime::Result<Result<T, Failure>>>,
) -> Option<T> {
    match call {
        Guarded::Done(Ok(Ok(value))) => Some(value),
        Guarded::Done(Ok(Err(f))) => {
            report_failure(raised, &f);
            None
        }
        Guarded::Done(Err(trap)) => {
            report_trap(what, &trap);
            None
        }
        Guarded::Interrupted => None,
    }
}

fn report_failure(what: &str, f: &Failure) {
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

fn report_trap(what: &str, trap: &wasmtime::Error) {
    if let Some(exit) = trap.downcast_ref::<wasmtime_wasi::I32Exit>() {
        // WASI preview 2 carries only success or failure, not the code the
        // script passed to os._exit().
        let status = if exit.0 == 0 { "success" } else { "failure" };
        tracing::error!(
            code = exit.0,
            "{what}: the script ended its interpreter (os._exit() or a fatal error; exit status {status}); the source cannot go on"
        );
        return;
    }
    // The chain with the guest's wasm backtrace; the host's own backtrace
    // says nothing about the script.
    let error = format!("{trap:#}");
    if error.contains("resource table has no free keys") {
        tracing::error!(
            error,
            "{what}: the guest trapped: it holds more handles (files, sockets, streams) than its policy's max_handles allows"
        );
    } else {
        tracing::error!(error, "{what}: the guest trapped");
    }
}
