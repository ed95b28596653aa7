//! The wasmtime engine, the guest component and the caches that make
//! start-up cheap: the component compiled once per guest build and engine
//! configuration (Cranelift takes seconds, loading the result milliseconds),
//! the Python standard library unpacked once for the read-only mount, and
//! scripts compiled once per process ([`bytecode`]).
//!
//! One [`Runtime`] serves every source: one Engine and one Component. The
//! Linker and the InstancePre that bind the host's imports are made from it
//! by [`crate::sandbox`]; each source gets its own Store there.

pub mod bytecode;

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Config, Engine};

use self::bytecode::BytecodeCache;
use crate::schedule::{self, TURNS};

/// The scheduling tick: `cpu` slices are whole multiples of it. The epoch
/// advances this often while no guest is busy, and every
/// [`schedule::FINE_TICK`] while one is (see [`crate::schedule`]).
pub const EPOCH_TICK: Duration = schedule::COARSE_TICK;

/// Everything shared by all sources.
pub struct Runtime {
    pub engine: Engine,
    pub component: Component,
    /// Host directory mounted read-only at the guest's `/python`.
    pub stdlib_dir: PathBuf,
    pub bytecode: BytecodeCache,
}

impl Runtime {
    /// Builds the engine and loads the guest, compiling it into `cache_dir`
    /// on first use.
    pub fn new(cache_dir: &Path) -> Result<Arc<Runtime>> {
        let engine = engine()?;
        let component = load_component(&engine, cache_dir)?;
        let stdlib_dir = unpack_stdlib(cache_dir)?;
        start_epoch_ticker(&engine);
        Ok(Arc::new(Runtime {
            engine,
            component,
            stdlib_dir,
            bytecode: BytecodeCache::default(),
        }))
    }
}

/// wasmtime's own error type, as an `anyhow` error that takes context.
pub fn wt<T>(r: wasmtime::Result<T>) -> Result<T> {
    r.map_err(anyhow::Error::from)
}

fn engine() -> Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    // Instances start from a copy-on-write image of the pre-initialised
    // heap instead of copying it.
    config.memory_init_cow(true);
    config.table_lazy_init(false);
    // A trap (and an interrupt at an epoch tick) carries the guest's
    // memories, from which the host takes the messages the guest posted
    // but had not handed over (guest_api/pending.rs). It costs nothing
    // until a guest traps.
    config.coredump_on_trap(true);
    // For `perf`: names the guest's compiled functions in /tmp/perf-PID.map.
    if std::env::var_os("SANDLOG_PERFMAP").is_some_and(|v| v == "1") {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    wt(Engine::new(&config)).context("creating the wasmtime engine")
}

/// The default cache directory: `$XDG_CACHE_HOME/sandlog`, else
/// `$HOME/.cache/sandlog`, else a directory under the system temp dir.
pub fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("sandlog");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(home).join(".cache/sandlog");
    }
    std::env::temp_dir().join("sandlog-cache")
}

fn digest(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    hex::encode(&h.finalize()[..16])
}

/// Loads the compiled guest from the cache, compiling and storing it first
/// when the cache has no entry for this guest and engine.
fn load_component(engine: &Engine, cache_dir: &Path) -> Result<Component> {
    let mut compat = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut compat);
    let compat = std::hash::Hasher::finish(&compat).to_le_bytes();
    let key = digest(&[
        sandlog_guest::COMPONENT_DIGEST.as_bytes(),
        &compat,
        env!("CARGO_PKG_VERSION").as_bytes(),
    ]);
    let path = cache_dir.join(format!("guest-{key}.cwasm"));
    if path.is_file() {
        // SAFETY: the file is one this function wrote (atomically, by rename)
        // from the guest embedded in this binary, under a name that covers
        // the guest's bytes and the engine's compatibility hash.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(c) => return Ok(c),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "compiled guest in the cache is unusable; compiling again")
            }
        }
    }
    let started = Instant::now();
    tracing::info!("compiling the guest (once per build of sandlog)");
    let bytes = wt(engine.precompile_component(sandlog_guest::COMPONENT))
        .context("compiling the guest component")?;
    tracing::info!(elapsed = ?started.elapsed(), "guest compiled");
    fs::create_dir_all(cache_dir)
        .with_context(|| format!("creating cache directory {}", cache_dir.display()))?;
    write_atomically(&path, &bytes)?;
    prune(cache_dir, "guest-", &path);
    // SAFETY: `bytes` was produced just now by this engine.
    wt(unsafe { Component::deserialize(engine, &bytes) }).context("loading the compiled guest")
}

/// How many entries of one kind the cache keeps besides the one in use:
/// the previous build's, for a sandlog of that build still running (an
/// upgrade in progress), and nothing older.
const KEEP_PREVIOUS: usize = 1;

/// Removes the cache entries named `prefix*` other than `current` and the
/// newest [`KEEP_PREVIOUS`] of them. Each build of sandlog writes its own
/// compiled guest (tens of MB) and standard library; without this they
/// would pile up. Failures are logged, never fatal.
fn prune(cache_dir: &Path, prefix: &str, current: &Path) {
    let Ok(entries) = fs::read_dir(cache_dir) else {
        return;
    };
    let mut old: Vec<(std::time::SystemTime, PathBuf)> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p != current)
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && !n.contains(".tmp"))
        })
        .map(|p| {
            let t = fs::metadata(&p)
                .and_then(|m| m.modified())
                .unwrap_or(std::time::UNIX_EPOCH);
            (t, p)
        })
        .collect();
    old.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
    for (_, p) in old.into_iter().skip(KEEP_PREVIOUS) {
        let removed = if p.is_dir() {
            fs::remove_dir_all(&p)
        } else {
            fs::remove_file(&p)
        };
        match removed {
            Ok(()) => {
                tracing::info!(path = %p.display(), "removed an old build's entry from the cache")
            }
            Err(e) => {
                tracing::warn!(path = %p.display(), error = %e, "cannot remove an old cache entry")
            }
        }
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("renaming {} into place", tmp.display()))?;
    Ok(())
}

/// Unpacks the standard library into the cache once; returns its directory.
fn unpack_stdlib(cache_dir: &Path) -> Result<PathBuf> {
    let key = sandlog_guest::STDLIB_DIGEST;
    let dir = cache_dir.join(format!("python-{key}"));
    if dir.join(".complete").is_file() {
        return Ok(dir);
    }
    fs::create_dir_all(cache_dir)
        .with_context(|| format!("creating cache directory {}", cache_dir.display()))?;
    let tmp = cache_dir.join(format!("python-{key}.tmp{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    let decoder = zstd::stream::read::Decoder::new(Cursor::new(sandlog_guest::STDLIB_TAR_ZST))
        .context("reading the embedded standard library")?;
    tar::Archive::new(decoder)
        .unpack(&tmp)
        .with_context(|| format!("unpacking the standard library into {}", tmp.display()))?;
    fs::write(tmp.join(".complete"), b"")?;
    match fs::rename(&tmp, &dir) {
        Ok(()) => {}
        // Another sandlog unpacked it at the same time.
        Err(_) if dir.join(".complete").is_file() => {
            let _ = fs::remove_dir_all(&tmp);
        }
        Err(e) => return Err(e).with_context(|| format!("moving {} into place", dir.display())),
    }
    prune(cache_dir, "python-", &dir);
    Ok(dir)
}

/// Advances the engine's epoch on a plain thread, so that the ticker keeps
/// going however busy the async executor it polices is.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = thread::Builder::new()
        .name("sandlog-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                thread::sleep(TURNS.tick_period());
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the epoch ticker; busy sources will not yield");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_keeps_the_current_entry_and_one_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for (i, name) in ["guest-a.cwasm", "guest-b.cwasm", "guest-c.cwasm"]
            .iter()
            .enumerate()
        {
            fs::write(d.join(name), "x").unwrap();
            let t = std::time::UNIX_EPOCH + Duration::from_secs(1_000_000 + i as u64);
            fs::File::options()
                .write(true)
                .open(d.join(name))
                .unwrap()
                .set_modified(t)
                .unwrap();
        }
        fs::create_dir(d.join("python-old")).unwrap();
        fs::write(d.join("guest-d.cwasm"), "x").unwrap();
        prune(d, "guest-", &d.join("guest-d.cwasm"));
        let mut left: Vec<String> = fs::read_dir(d)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["guest-c.cwasm", "guest-d.cwasm", "python-old"]);
    }
}
