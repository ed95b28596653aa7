//! One source's sandbox: its store state, what its WASI context grants, and
//! the host side of the guest's `host` interface.
//!
//! A guest is granted the read-only Python standard library at `/python`
//! and what its [`Policy`] lists: mounts, network patterns (checked against
//! the resolved address of every bind, connect and send), DNS, environment
//! variables. Nothing else: no host stdio (its stdout and stderr go to the
//! host log). Its linear memory and its WASI handles are capped by the
//! policy.
//!
//! The hot path of sandlog starts at [`Host::post_messages`]: a block of
//! messages from the guest goes to the source's [`Delivery`], which renders
//! it and hands it to the destinations; while they are behind, the guest
//! stays suspended.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::AsyncWrite;
use tokio::sync::Notify;
use wasmtime::component::ResourceTable;
use wasmtime::{Store, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::cli::AsyncStdoutStream;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};

use crate::acks::AckState;
use crate::bindings::sandlog::guest::{host, types};
use crate::bindings::{LogLevel, MessageBlock, Status};
use crate::config::SourceSpec;
use crate::delivery::{Delivery, Stats};
use crate::metrics::SourceMetrics;
use crate::policy::{MountMode, Policy};
use crate::render::SourceFields;
use crate::runtime::Runtime;
use crate::sink::Sinks;

/// Longest line a guest may send to the host log; longer ones are cut and
/// marked, so a guest cannot make the host buffer without bound.
const MAX_LOG_LINE: usize = 16 * 1024;

const EXIT_NONE: u8 = 0;
const EXIT_WANTED: u8 = 1;
const EXIT_TOLD: u8 = 2;

/// The host's handle on a running source, shared with its store: how the
/// supervisor asks a source to exit while the guest is busy.
#[derive(Default)]
pub struct Control {
    exit: AtomicU8,
    wake: Notify,
}

impl Control {
    /// Asks the source to exit: its request_exit() runs at the guest's next
    /// contact with the host, and a host sleep ends now.
    pub fn request_exit(&self) {
        let _ =
            self.exit
                .compare_exchange(EXIT_NONE, EXIT_WANTED, Ordering::SeqCst, Ordering::SeqCst);
        // Wakes every `notified()` future created before this call, polled or
        // not; each waiter checks the state after creating its future.
        self.wake.notify_waiters();
    }

    pub fn exit_requested(&self) -> bool {
        self.exit.load(Ordering::SeqCst) != EXIT_NONE
    }

    /// An exit is wanted and the guest has not been told yet.
    fn exit_pending(&self) -> bool {
        self.exit.load(Ordering::SeqCst) == EXIT_WANTED
    }

    /// True once, when an exit is wanted and the guest has not been told.
    fn take(&self) -> bool {
        self.exit
            .compare_exchange(EXIT_WANTED, EXIT_TOLD, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
    }

    /// The guest is told through the request-exit export instead.
    pub fn mark_told(&self) {
        self.exit.store(EXIT_TOLD, Ordering::SeqCst);
    }

    /// Resolves once an exit has been requested.
    pub async fn requested(&self) {
        loop {
            let notified = self.wake.notified();
            if self.exit_requested() {
                return;
            }
            notified.await;
        }
    }
}

/// Everything a source's store holds.
pub struct SourceState {
    name: Arc<str>,
    wasi: WasiCtx,
    table: ResourceTable,
    limits: Limits,
    metrics: Arc<SourceMetrics>,
    control: Arc<Control>,
    delivery: Delivery,
}

impl WasiView for SourceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The store's limits, which also report the guest's memory to the
/// source's metrics.
struct Limits {
    inner: StoreLimits,
    metrics: Arc<SourceMetrics>,
}

impl wasmtime::ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum)?;
        if allowed {
            self.metrics
                .memory_grew(desired.saturating_sub(current) as u64);
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.inner.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// Creates the store of one source with its grants and limits.
/// Where the `i`th directory of a source's `python_path` is mounted.
pub fn python_path_mount(i: usize) -> String {
    format!("/pythonpath/{i}")
}

/// Where a source's state directory is mounted in the guest.
pub const STATE_GUEST_PATH: &str = "/state";

/// The host directory that keeps a source's state (its Persist stores)
/// across restarts: `STATE_ROOT/sources/NAME`, the name escaped so that it
/// is one path component.
pub fn state_dir(state_root: &std::path::Path, source: &str) -> std::path::PathBuf {
    let mut escaped = String::with_capacity(source.len());
    for b in source.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && !escaped.is_empty())
        {
            escaped.push(char::from(b));
        } else {
            escaped.push_str(&format!("%{b:02X}"));
        }
    }
    state_root.join("sources").join(escaped)
}

pub fn new_store(
    runtime: &Runtime,
    spec: &SourceSpec,
    hostname: &str,
    sinks: Sinks,
    control: Arc<Control>,
    state_root: Option<&std::path::Path>,
    metrics: Arc<SourceMetrics>,
) -> anyhow::Result<Store<SourceState>> {
    let name: Arc<str> = Arc::from(spec.name.as_str());
    let policy = &spec.policy;
    let mut wasi = WasiCtx::builder();
    wasi.stdout(AsyncStdoutStream::new(
        64 * 1024,
        LogLines::new(name.clone(), "stdout"),
    ))
    .stderr(AsyncStdoutStream::new(
        64 * 1024,
        LogLines::new(name.clone(), "stderr"),
    ))
    .allow_tcp(true)
    .allow_udp(true)
    .allow_ip_name_lookup(policy.dns)
    .socket_addr_check(address_check(name.clone(), Arc::new(policy.clone())))
    .arg("sandlog")
    .preopened_dir(
        &runtime.stdlib_dir,
        sandlog_guest::STDLIB_GUEST_PATH,
        FsPerms::ReadOnly,
    )?;
    if let Some(root) = state_root {
        let state = state_dir(root, &spec.name);
        std::fs::create_dir_all(&state)
            .with_context(|| format!("creating the state directory {}", state.display()))?;
        wasi.preopened_dir(&state, STATE_GUEST_PATH, FsPerms::ReadWrite)?;
    }
    for (i, dir) in spec.python_path.iter().enumerate() {
        wasi.preopened_dir(dir, python_path_mount(i), FsPerms::ReadOnly)?;
    }
    for m in &policy.files {
        let perms = match m.mode {
            MountMode::Ro => FsPerms::ReadOnly,
            MountMode::Rw => FsPerms::ReadWrite,
        };
        wasi.preopened_dir(&m.host, &m.guest, perms)?;
    }
    for (k, v) in &policy.env {
        wasi.env(k, v);
    }
    let mut table = ResourceTable::new();
    table.set_max_capacity(policy.max_handles as usize);
    let limits = StoreLimitsBuilder::new()
        .memory_size(usize::try_from(spec.policy.memory).unwrap_or(usize::MAX))
        .instances(64)
        .tables(64)
        .memories(8)
        .build();
    let mut fields = SourceFields::new(&spec.name, hostname);
    fields.set_keep_hostname(spec.keep_hostname);
    let state = SourceState {
        name: name.clone(),
        wasi: wasi.build(),
        table,
        limits: Limits {
            inner: limits,
            metrics: metrics.clone(),
        },
        delivery: Delivery::new(
            name,
            fields,
            sinks,
            policy.max_message_size,
            metrics.clone(),
        ),
        metrics,
        control,
    };
    let mut store = Store::new(&runtime.engine, state);
    store.limiter(|s| &mut s.limits);
    // Yield to the executor every `cpu` slice: fairness between sources,
    // and a busy guest can be stopped by dropping its call. Each slice the
    // guest used up is counted: its busy time, at the tick's resolution.
    let ticks =
        u64::try_from((policy.cpu.as_millis() / crate::runtime::EPOCH_TICK.as_millis()).max(1))
            .unwrap_or(1);
    store.set_epoch_deadline(ticks);
    store.epoch_deadline_callback(move |ctx| {
        ctx.data().metrics.busy_ticks.fetch_add(ticks, Relaxed);
        Ok(wasmtime::UpdateDeadline::Yield(ticks))
    });
    Ok(store)
}

type AddrCheck = Box<
    dyn Fn(
            std::net::SocketAddr,
            wasmtime_wasi::sockets::SocketAddrUse,
        ) -> Pin<Box<dyn std::future::Future<Output = bool> + Send + Sync>>
        + Send
        + Sync,
>;

/// The network grant: every bind and listen must match `network.listen`,
/// every connect and send `network.connect`, on the resolved address.
/// Incoming connections and datagrams on a granted socket are let through.
/// A refusal is logged with the source, the address and the rule.
fn address_check(source: Arc<str>, policy: Arc<Policy>) -> AddrCheck {
    use wasmtime_wasi::sockets::SocketAddrUse as Use;
    Box::new(move |addr, use_| {
        let (listen, key) = match use_ {
            Use::TcpBind | Use::TcpListen | Use::UdpBind => (true, "network.listen"),
            Use::TcpConnect | Use::UdpSend => (false, "network.connect"),
            Use::TcpAccept | Use::UdpReceive => return Box::pin(async { true }),
        };
        let allowed = match policy.allows(addr, listen) {
            Some(rule) => {
                tracing::trace!(source = %source, address = %addr, operation = ?use_, rule = %rule, "allowed by policy");
                true
            }
            // Binding port 0 on a wildcard address is how the OS picks a
            // local port for an outgoing socket; the connect is checked.
            None if listen
                && addr.port() == 0
                && addr.ip().is_unspecified()
                && !matches!(use_, Use::TcpListen) =>
            {
                true
            }
            None => {
                tracing::warn!(source = %source, address = %addr, operation = ?use_, "denied by policy: no `{key}` pattern matches");
                false
            }
        };
        Box::pin(async move { allowed })
    })
}

impl SourceState {
    /// Hands on everything the guest posted and waits until the
    /// destinations have it.
    pub async fn finish(&mut self) {
        self.delivery.finish().await;
    }

    pub fn stats(&self) -> Stats {
        self.delivery.stats()
    }

    /// How many messages the guest has posted, and how far the
    /// destinations have written them.
    pub fn acks(&self) -> (u64, Arc<AckState>) {
        self.delivery.acks()
    }

    fn status(&self) -> Status {
        Status {
            exit: self.control.take(),
            acked: self.delivery.ack_state().acked(),
        }
    }
}

impl types::Host for SourceState {}

impl host::Host for SourceState {
    async fn post_message(&mut self, block: MessageBlock) -> Status {
        self.delivery.post_one(&block);
        self.status()
    }

    async fn close_batch(&mut self) {
        self.delivery.close_batch().await;
    }

    async fn post_messages(&mut self, block: MessageBlock) -> Status {
        self.delivery.post_block(block).await;
        self.status()
    }

    async fn set_transport_name(&mut self, name: String) {
        self.delivery.set_transport(&name).await;
    }

    async fn sleep(&mut self, nanos: u64, wake_at_acked: u64) -> Status {
        self.delivery.close_pending().await;
        let control = self.control.clone();
        let acks = self.delivery.ack_state().clone();
        let woken = control.wake.notified();
        if !control.exit_pending() {
            let acked = async {
                if wake_at_acked == 0 {
                    std::future::pending::<()>().await;
                }
                acks.reached(wake_at_acked).await;
            };
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_nanos(nanos)) => {}
                _ = woken => {}
                _ = acked => {}
            }
        }
        self.status()
    }

    async fn poll(&mut self) -> Status {
        self.delivery.close_pending().await;
        self.status()
    }

    async fn log(&mut self, level: LogLevel, text: String) {
        let text = clip(&text);
        let source = &*self.name;
        match level {
            LogLevel::Trace => tracing::trace!(source, "{text}"),
            LogLevel::Debug => tracing::debug!(source, "{text}"),
            LogLevel::Info => tracing::info!(source, "{text}"),
            LogLevel::Warn => tracing::warn!(source, "{text}"),
            LogLevel::Error => tracing::error!(source, "{text}"),
        }
    }
}

fn clip(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= MAX_LOG_LINE {
        return text.into();
    }
    let mut end = MAX_LOG_LINE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... [{} bytes cut]", &text[..end], text.len() - end).into()
}

/// The guest's raw stdout or stderr (what bypasses Python's sys.stdout, such
/// as interpreter fatal errors), turned into host log lines.
struct LogLines {
    source: Arc<str>,
    stream: &'static str,
    partial: Vec<u8>,
}

impl LogLines {
    fn new(source: Arc<str>, stream: &'static str) -> Self {
        Self {
            source,
            stream,
            partial: Vec::new(),
        }
    }

    fn emit(&self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        tracing::warn!(source = %self.source, stream = self.stream, "{}", clip(&text));
    }
}

impl AsyncWrite for LogLines {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        this.partial.extend_from_slice(buf);
        while let Some(pos) = this.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = this.partial.drain(..=pos).collect();
            this.emit(&line[..line.len() - 1]);
        }
        if this.partial.len() > MAX_LOG_LINE {
            let line = std::mem::take(&mut this.partial);
            this.emit(&line);
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let line = std::mem::take(&mut self.partial);
        if !line.is_empty() {
            self.emit(&line);
        }
        Poll::Ready(Ok(()))
    }
}
