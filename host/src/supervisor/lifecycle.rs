//! One instance of a source, from its turn to start to its end, as named
//! steps: wait for the start gate, make the sandbox, instantiate, compile
//! (once per script), load, init(), run(), and after run() the acks and
//! deinit(). Every guest call goes through the [`Guard`], so a stop ends
//! each of them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use tokio::sync::watch;
use tracing::Instrument;
use wasmtime::Store;

use super::ending::{Ending, classify_run, report_failure, report_trap};
use super::guard::{Guard, Guarded};
use super::start_gate::Pass;
use super::{SourceEnv, Stop};
use crate::bindings::exports::sandlog::guest::source::Setup;
use crate::bindings::{Failure, SandlogSource};
use crate::config::SourceSpec;
use crate::engine::bytecode::ScriptKey;
use crate::guest_api::gate::LogBudget;
use crate::guest_api::{self, Control, GuestApi};
use crate::metrics::{SourceMetrics, State};
use crate::pipeline::delivery::Delivery;
use crate::pipeline::render::SourceFields;
use crate::sandbox::{SandboxSpec, SourceState, paths};

/// Runs one instance of `spec` until it ends; returns how.
pub async fn lifecycle(
    spec: &SourceSpec,
    env: &SourceEnv,
    mut stop: watch::Receiver<Stop>,
    metrics: Arc<SourceMetrics>,
) -> Result<Ending> {
    let control = Arc::new(Control::new(env.hearing.clone()));
    let Some(pass) = wait_turn(env, &mut stop).await else {
        tracing::debug!("stopped before its turn to start");
        return Ok(Ending::Cancelled);
    };
    let started = Instant::now();
    let mut store = sandbox(spec, env, &control, &metrics)?;
    let guest = match env.sandboxes.instantiate(&mut store).await {
        Ok(g) => g,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "cannot instantiate the guest");
            return Ok(Ending::NotStarted);
        }
    };
    let instantiated = started.elapsed();
    let guard = Guard {
        grace: spec.policy.exit_grace,
        slice: spec.policy.cpu,
        control: &control,
    };
    let mut instance = Instance {
        spec,
        env,
        guard,
        guest,
        store,
    };
    if !instance.load(&mut stop).await {
        return Ok(Ending::NotStarted);
    }
    let loaded = started.elapsed();
    if !instance.init(&mut stop).await {
        return Ok(Ending::NotStarted);
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
        instance.deinit(&mut stop).await;
        return Ok(Ending::Returned);
    }
    tracing::debug!(policy = ?spec.policy, "effective policy");
    tracing::info!("running");
    metrics.set_state(State::Running);
    let ending = instance.run(&mut stop, &metrics, &control).await;
    let stats = instance.store.data().api.stats();
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

/// Waits for the source's turn at the start gate. A stop that comes while
/// it waits ends it there (None): starting it only to stop it would delay
/// the stop of the whole run.
async fn wait_turn(env: &SourceEnv, stop: &mut watch::Receiver<Stop>) -> Option<Pass> {
    let stopped = async {
        if stop.wait_for(|s| *s != Stop::Running).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        pass = env.start_gate.enter() => Some(pass),
        () = stopped => None,
    }
}

/// The store of one instance: its sandbox, and its guest API feeding the
/// destinations the source was given.
fn sandbox(
    spec: &SourceSpec,
    env: &SourceEnv,
    control: &Arc<Control>,
    metrics: &Arc<SourceMetrics>,
) -> Result<Store<SourceState>> {
    let sinks = match &spec.destinations {
        Some(which) => env.sinks.select(which),
        None => env.sinks.clone(),
    };
    let name: Arc<str> = Arc::from(spec.name.as_str());
    let mut fields = SourceFields::new(&spec.name, &env.hostname);
    fields.set_keep_hostname(spec.keep_hostname);
    let delivery = Delivery::new(name.clone(), fields, sinks, metrics.clone());
    let budget = Arc::new(LogBudget::new(
        name.clone(),
        spec.policy.log_rate,
        spec.policy.log_burst,
        metrics.clone(),
    ));
    let api = GuestApi::new(
        name,
        control.clone(),
        delivery,
        spec.policy.max_message_size,
        budget,
    );
    env.sandboxes.new_store(
        &sandbox_spec(spec),
        api,
        Some(&env.state_root),
        metrics.clone(),
    )
}

/// What the sandbox of `spec` is made of.
pub fn sandbox_spec(spec: &SourceSpec) -> SandboxSpec<'_> {
    SandboxSpec {
        name: &spec.name,
        policy: &spec.policy,
        python_path: &spec.python_path,
    }
}

/// An instantiated source.
struct Instance<'a> {
    spec: &'a SourceSpec,
    env: &'a SourceEnv,
    guard: Guard<'a>,
    guest: SandlogSource,
    store: Store<SourceState>,
}

impl Instance<'_> {
    /// Compiles the script (once per process) and loads it: the class is
    /// found and instantiated. False when the source cannot start.
    async fn load(&mut self, stop: &mut watch::Receiver<Stop>) -> bool {
        let spec = self.spec;
        let mut setup = setup(spec);
        if !spec.code.is_empty() {
            let Some(bytecode) = self.bytecode(stop).await else {
                return false;
            };
            setup.bytecode = bytecode;
        }
        let src = self.guest.sandlog_guest_source();
        let call = src.call_load(&mut self.store, &setup);
        let what = "loading the source";
        let load = self.guard.call(stop, what, false, call).await;
        starting(what, "cannot load the source", load).is_some()
    }

    /// The script's bytecode: compiled here, before anything of the script
    /// runs in this instance, unless an earlier instance of the script did
    /// so.
    async fn bytecode(&mut self, stop: &mut watch::Receiver<Stop>) -> Option<String> {
        let spec = self.spec;
        let cache = &self.env.runtime.bytecode;
        let key = ScriptKey::new(&spec.filename, &spec.code);
        if let Some(bytecode) = cache.get(&key) {
            return Some(bytecode.to_string());
        }
        let src = self.guest.sandlog_guest_source();
        let call = src.call_compile(&mut self.store, &spec.code, &spec.filename);
        let what = "compiling the script";
        let compiled = self.guard.call(stop, what, false, call).await;
        let bytecode = starting(what, "cannot load the source", compiled)?;
        cache.insert(key, bytecode.as_str().into());
        Some(bytecode)
    }

    /// Calls init(options); false when the source does not start.
    async fn init(&mut self, stop: &mut watch::Receiver<Stop>) -> bool {
        let src = self.guest.sandlog_guest_source();
        let call = src.call_init(&mut self.store, &self.spec.options);
        let inited = self.guard.call(stop, "init()", false, call).await;
        match starting("init()", "init() raised; the source does not start", inited) {
            Some(true) => true,
            Some(false) => {
                tracing::error!("init() returned a false value; the source does not start");
                false
            }
            None => false,
        }
    }

    /// Runs run() to its end, then hands on what the guest posted and, when
    /// run() returned or raised, settles the acks and calls deinit().
    async fn run(
        &mut self,
        stop: &mut watch::Receiver<Stop>,
        metrics: &Arc<SourceMetrics>,
        control: &Arc<Control>,
    ) -> Ending {
        let recycling = Arc::new(AtomicBool::new(false));
        let watcher = self
            .spec
            .policy
            .recycle_above
            .map(|limit| watch_memory(limit, metrics, control, &recycling));
        let src = self.guest.sandlog_guest_source();
        let ran = self
            .guard
            .call(stop, "run()", true, src.call_run(&mut self.store))
            .await;
        if let Some(w) = watcher {
            w.abort();
        }
        let trap = match &ran {
            Guarded::Done(Err(trap)) | Guarded::Stopped(Err(trap)) => Some(trap),
            _ => None,
        };
        // What the guest posted and could not hand over, from its memory.
        let recovered = trap.and_then(|trap| {
            guest_api::pending::from_dump(&self.store, trap, |s: &SourceState| &s.api)
        });
        let ending = match ran {
            Guarded::Done(result) => classify_run(result),
            Guarded::Interrupted | Guarded::Stopped(_) => Ending::Interrupted,
        };
        if let Some(block) = recovered {
            self.store.data_mut().api.post_recovered(block).await;
        }
        self.store.data_mut().api.finish().await;
        if matches!(ending, Ending::Returned | Ending::Raised) {
            self.settle_acks(stop).await;
            self.deinit(stop).await;
        }
        // A source asked to exit for recycling that returned (or had to be
        // interrupted) starts again; one that failed meanwhile is restarted
        // as a failure.
        match ending {
            Ending::Returned | Ending::Interrupted
                if recycling.load(Ordering::SeqCst) && *stop.borrow() == Stop::Running =>
            {
                Ending::Recycled
            }
            other => other,
        }
    }

    /// After run(): the acks of what the source posted reach its ack
    /// tracker before deinit(), so that a source keeping its position in
    /// Persist keeps the last one. The destinations get the exit grace to
    /// write what is still waiting; what they have not written by then is
    /// not acked, and a source that resumes from its acks reads it again
    /// after a restart.
    async fn settle_acks(&mut self, stop: &mut watch::Receiver<Stop>) {
        let grace = self.guard.grace;
        let src = self.guest.sandlog_guest_source();
        let (posted, acks) = self.store.data().api.acks();
        let mut waited = false;
        loop {
            let acked = acks.acked();
            let call = tokio::time::timeout(grace, src.call_acknowledge(&mut self.store, acked));
            let waiting = match self
                .guard
                .call(stop, "the ack callbacks", false, call)
                .await
            {
                // The guest has bookmarks past what is acked.
                Guarded::Done(Ok(Ok(Ok(waiting)))) => waiting,
                Guarded::Done(Ok(Ok(Err(f)))) => {
                    report_failure("an ack callback raised", &f);
                    return;
                }
                Guarded::Done(Ok(Err(trap))) => {
                    let _ = report_trap("the ack callbacks", &trap);
                    return;
                }
                Guarded::Done(Err(_)) => {
                    tracing::error!(grace = ?grace, "the ack callbacks did not return within the exit grace; interrupted");
                    return;
                }
                Guarded::Interrupted | Guarded::Stopped(_) => return,
            };
            if !waiting || acked >= posted {
                return;
            }
            if waited {
                tracing::warn!(
                    unacked = posted - acked,
                    grace = ?grace,
                    "messages not written within the exit grace after run() returned; their ack callbacks are not called"
                );
                return;
            }
            waited = true;
            let _ = tokio::time::timeout(grace, acks.reached(posted)).await;
        }
    }

    async fn deinit(&mut self, stop: &mut watch::Receiver<Stop>) {
        let grace = self.guard.grace;
        let src = self.guest.sandlog_guest_source();
        // deinit() runs while stopping as often as not: it gets its own
        // grace, whether or not a stop is already under way.
        let call = tokio::time::timeout(grace, src.call_deinit(&mut self.store));
        match self.guard.call(stop, "deinit()", false, call).await {
            Guarded::Done(Ok(Ok(Ok(())))) => {}
            Guarded::Done(Ok(Ok(Err(f)))) => report_failure("deinit() raised", &f),
            Guarded::Done(Ok(Err(trap))) => {
                let _ = report_trap("deinit()", &trap);
            }
            Guarded::Done(Err(_)) => {
                tracing::error!(grace = ?grace, "deinit() did not return within the exit grace; interrupted")
            }
            Guarded::Interrupted | Guarded::Stopped(_) => {}
        }
    }
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

/// What the guest's `load` is told about the source.
pub fn setup(spec: &SourceSpec) -> Setup {
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
            .map(paths::python_path_mount)
            .collect(),
    }
}

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
            let _ = report_trap(what, &trap);
            None
        }
        Guarded::Interrupted | Guarded::Stopped(_) => None,
    }
}
