//! One source's store: its WASI context built from its policy, its limits,
//! its epoch deadline, and its guest API. Also the Linker and InstancePre
//! that every store is instantiated from ([`Sandboxes`]).
//!
//! A guest is granted the read-only Python standard library at `/python`
//! and what its [`Policy`] lists: mounts, network patterns (checked against
//! the resolved address of every bind, connect and send), DNS, environment
//! variables. Nothing else: no host stdio (its stdout and stderr go to the
//! host log). Its linear memory and its WASI handles are capped by the
//! policy.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result};
use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store, StoreLimitsBuilder};
use wasmtime_wasi::cli::AsyncStdoutStream;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxView, WasiView};

use super::disk::{DiskCap, DiskCaps, DiskView};
use super::limits::Limits;
use super::network::address_check;
use super::paths;
use super::policy::{MountMode, Policy};
use super::preopens::{Preopen, Preopens, PreopensView};
use super::stdio::LogLines;
use super::wait::WaitView;
use crate::bindings::{SandlogSource, SandlogSourcePre};
use crate::engine::{Runtime, wt};
use crate::guest_api::GuestApi;
use crate::guest_api::control::WaitEnds;
use crate::guest_api::tls::{HasTls, TlsCtx, TlsView};
use crate::metrics::SourceMetrics;
use crate::schedule::{self, Slice};

/// Everything a source's store holds.
pub struct SourceState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: Limits,
    metrics: Arc<SourceMetrics>,
    /// What the guest's calls into the host act on.
    pub api: GuestApi,
    tls: TlsCtx,
    disk: DiskCaps,
    preopens: Preopens,
}

impl PreopensView for SourceState {
    fn preopens_and_table(&mut self) -> (&Preopens, &mut ResourceTable) {
        (&self.preopens, &mut self.table)
    }
}

impl DiskView for SourceState {
    fn disk(&mut self) -> &mut DiskCaps {
        &mut self.disk
    }
}

impl WaitView for SourceState {
    fn table_and_slice(&mut self) -> (&mut ResourceTable, &mut Slice) {
        (&mut self.table, self.api.slice_mut())
    }

    fn announced_wait(&mut self) -> Option<WaitEnds> {
        self.api.take_announced_wait()
    }
}

impl WasiView for SourceState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// What a sandbox is made of, beyond its policy.
pub struct SandboxSpec<'a> {
    pub name: &'a str,
    pub policy: &'a Policy,
    /// Host directories mounted read-only at [`paths::python_path_mount`].
    pub python_path: &'a [PathBuf],
}

/// The guest linked with the host's imports (WASI and the sandlog host
/// interface), ready to be instantiated into a store per source.
pub struct Sandboxes {
    engine: Engine,
    pre: SandlogSourcePre<SourceState>,
    /// Opened once, shared by every source (see [`super::preopens`]).
    stdlib: Preopen,
}

impl Sandboxes {
    pub fn new(runtime: &Runtime) -> Result<Sandboxes> {
        let mut linker: Linker<SourceState> = Linker::new(&runtime.engine);
        wt(wasmtime_wasi::p2::add_to_linker_async(&mut linker))
            .context("linking WASI into the guest")?;
        wt(super::socket_errors::mend(&mut linker)).context("mending socket errors")?;
        wt(super::disk::cap(&mut linker)).context("capping the writable directories")?;
        wt(super::wait::race_exit(&mut linker)).context("making WASI waits exit-aware")?;
        use crate::bindings::sandlog::guest::{host, tls, types};
        wt(host::add_to_linker::<_, HasSelf<GuestApi>>(
            &mut linker,
            |s: &mut SourceState| &mut s.api,
        ))
        .context("linking the sandlog host interface")?;
        wt(types::add_to_linker::<_, HasSelf<GuestApi>>(
            &mut linker,
            |s: &mut SourceState| &mut s.api,
        ))
        .context("linking the sandlog types")?;
        wt(tls::add_to_linker::<_, HasTls>(
            &mut linker,
            |s: &mut SourceState| TlsView {
                ctx: &s.tls,
                table: &mut s.table,
            },
        ))
        .context("linking the TLS interface")?;
        let pre = wt(linker.instantiate_pre(&runtime.component))
            .context("preparing the guest for instantiation")?;
        let pre = wt(SandlogSourcePre::new(pre)).context("binding the guest's exports")?;
        Ok(Sandboxes {
            engine: runtime.engine.clone(),
            pre,
            stdlib: Preopen::open(&runtime.stdlib_dir, paths::STDLIB, FsPerms::ReadOnly)
                .context("opening the Python standard library")?,
        })
    }

    /// Instantiates the guest in `store`.
    pub async fn instantiate(&self, store: &mut Store<SourceState>) -> Result<SandlogSource> {
        wt(self.pre.instantiate_async(store).await)
    }

    /// Creates the store of one source with its grants and limits. With a
    /// `state_root`, the source's state directory is made there and
    /// mounted read-write at [`paths::STATE`].
    pub fn new_store(
        &self,
        spec: &SandboxSpec<'_>,
        api: GuestApi,
        state_root: Option<&Path>,
        metrics: Arc<SourceMetrics>,
    ) -> Result<Store<SourceState>> {
        let name: Arc<str> = Arc::from(spec.name);
        let policy = spec.policy;
        let mut wasi = WasiCtx::builder();
        let budget = api.log_budget();
        wasi.stdout(AsyncStdoutStream::new(
            64 * 1024,
            LogLines::new(name.clone(), "stdout", budget.clone()),
        ))
        .stderr(AsyncStdoutStream::new(
            64 * 1024,
            LogLines::new(name.clone(), "stderr", budget),
        ))
        .allow_tcp(true)
        .allow_udp(true)
        .allow_ip_name_lookup(policy.dns)
        .socket_addr_check(address_check(name.clone(), Arc::new(policy.clone())))
        .arg("sandlog");
        let mut preopens = Preopens::default();
        preopens.push(self.stdlib.clone());
        let mut disk = DiskCaps::default();
        if let Some(root) = state_root {
            let state = paths::state_dir(root, spec.name);
            std::fs::create_dir_all(&state)
                .with_context(|| format!("creating the state directory {}", state.display()))?;
            preopens.push(Preopen::open(&state, paths::STATE, FsPerms::ReadWrite)?);
            disk.add(
                paths::STATE,
                DiskCap::new(&state, policy.max_state_size, "max_state_size"),
            );
        }
        for (i, dir) in spec.python_path.iter().enumerate() {
            preopens.push(Preopen::open(
                dir,
                &paths::python_path_mount(i),
                FsPerms::ReadOnly,
            )?);
        }
        for m in &policy.files {
            let perms = match m.mode {
                MountMode::Ro => FsPerms::ReadOnly,
                MountMode::Rw => FsPerms::ReadWrite,
            };
            preopens.push(Preopen::open(&m.host, &m.guest, perms)?);
            if let Some(max) = m.max_size {
                disk.add(&m.guest, DiskCap::new(&m.host, max, "files.max_size"));
            }
        }
        for (k, v) in &policy.env {
            wasi.env(k, v);
        }
        let mut table = ResourceTable::new();
        table.set_max_capacity(policy.max_handles as usize);
        let limits = StoreLimitsBuilder::new()
            .memory_size(usize::try_from(policy.memory).unwrap_or(usize::MAX))
            .instances(64)
            .tables(64)
            .table_elements(usize::try_from(policy.max_table_elements).unwrap_or(usize::MAX))
            .memories(8)
            .build();
        let state = SourceState {
            wasi: wasi.build(),
            table,
            limits: Limits::new(limits, metrics.clone()),
            metrics,
            api,
            tls: TlsCtx::new(policy.tls.clone()),
            disk,
            preopens,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        // Yield to the executor every `cpu` slice, or sooner for a source
        // that woke up (see `schedule`): fairness between sources, and a
        // busy guest can be stopped by dropping its call.
        *store.data_mut().api.slice_mut() = Slice::new(policy.cpu);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(|mut ctx| {
            if crate::guest_api::pending::stop_now(&ctx.data().api) {
                return Ok(wasmtime::UpdateDeadline::Interrupt);
            }
            let state = ctx.data_mut();
            Ok(schedule::at_epoch(
                state.api.slice_mut(),
                &state.metrics.busy_ms,
            ))
        });
        Ok(store)
    }
}
