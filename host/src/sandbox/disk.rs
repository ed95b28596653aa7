//! Size caps on the directories a guest may write: its state directory
//! (`max_state_size`) and each read-write mount with a `max_size`.
//!
//! The host's filesystem has no per-directory quota an unprivileged
//! process can set, so the cap is kept here, in front of WASI: the calls
//! that can make a capped directory take more space (`open-at` with
//! `create`, `create-directory-at`, `symlink-at`, `link-at`, `write`,
//! `set-size`, and the output streams of `write-via-stream` and
//! `append-via-stream`) are shadowed in the linker and charged first. A
//! charge that does not fit fails the call with `insufficient-space`
//! (ENOSPC in the guest) and writes nothing; on a stream the failure is
//! `last-operation-failed` with the OS error ENOSPC, which the guest's C
//! library reports as EIO (it maps every failed stream write to EIO
//! without asking for the error code).
//!
//! What a directory holds is counted by walking it (every entry at least
//! one 4 KiB block, a file at its length or its allocated blocks, whichever
//! is larger) when the store is made, and then charged by what each call
//! could add: an overwrite is charged as if it grew the file. When the
//! running total would pass the cap the directory is walked again, so
//! deleted and overwritten files give their space back before a write is
//! refused.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::preopens::PreopensView;
use bytes::Bytes;
use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::filesystem::WasiFilesystemView;
use wasmtime_wasi::p2::bindings::filesystem::types::{
    Descriptor, DescriptorFlags, ErrorCode, Filesize, HostDescriptor, OpenFlags, PathFlags,
};
use wasmtime_wasi::p2::{
    DynOutputStream, FsResult, OutputStream, Pollable, StreamError, StreamResult,
};

/// WASI's filesystem and stream interfaces as wasmtime-wasi defines them in
/// the linker; the guest's older import versions resolve to them.
const TYPES: &str = "wasi:filesystem/types@0.2.12";
const PREOPENS: &str = "wasi:filesystem/preopens@0.2.12";

/// What one entry takes at least: a filesystem block.
const BLOCK: u64 = 4096;

/// Linux's ENOSPC, which WASI reports as `insufficient-space`.
const ENOSPC: i32 = 28;

/// One capped directory: where it is on the host, its cap, and what it is
/// counted to hold.
pub struct DiskCap {
    root: PathBuf,
    limit: u64,
    /// Policy key that sets `limit`, for the host log.
    key: &'static str,
    /// None until the first charge: counting is a walk of the directory,
    /// kept out of every instance's start.
    used: Mutex<Option<u64>>,
    reported: AtomicBool,
}

impl DiskCap {
    /// A cap of `limit` bytes on the host directory `root`, counted at
    /// its first charge.
    pub fn new(root: &Path, limit: u64, key: &'static str) -> Arc<DiskCap> {
        Arc::new(DiskCap {
            root: root.to_path_buf(),
            limit,
            key,
            used: Mutex::new(None),
            reported: AtomicBool::new(false),
        })
    }

    /// Takes `bytes` from what is left, or fails with ENOSPC.
    pub fn charge(&self, bytes: u64) -> io::Result<()> {
        let mut guard = self.used.lock().unwrap_or_else(|e| e.into_inner());
        let used = guard.get_or_insert_with(|| usage(&self.root));
        if used.saturating_add(bytes) > self.limit {
            *used = usage(&self.root);
        }
        if used.saturating_add(bytes) > self.limit {
            if !self.reported.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    dir = %self.root.display(),
                    limit = self.limit,
                    "a write would pass `{}`: refused with ENOSPC (reported once per instance)",
                    self.key
                );
            }
            return Err(io::Error::from_raw_os_error(ENOSPC));
        }
        *used += bytes;
        Ok(())
    }

    fn charge_code(&self, bytes: u64) -> Result<(), ErrorCode> {
        self.charge(bytes).map_err(|_| ErrorCode::InsufficientSpace)
    }
}

/// What `root` takes on disk, by this module's count; symbolic links are
/// not followed.
pub fn usage(root: &Path) -> u64 {
    let mut total = 0u64;
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            total = total.saturating_add(entry_size(&meta));
            if meta.is_dir() {
                dirs.push(entry.path());
            }
        }
    }
    total
}

fn entry_size(meta: &std::fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let size = if meta.is_file() {
        meta.len().max(meta.blocks().saturating_mul(512))
    } else {
        0
    };
    size.div_ceil(BLOCK).max(1).saturating_mul(BLOCK)
}

/// The caps of one store: by guest path until the guest asks for its
/// preopened directories, then by the handle of every descriptor opened
/// beneath a capped one.
#[derive(Default)]
pub struct DiskCaps {
    roots: Vec<(String, Arc<DiskCap>)>,
    open: HashMap<u32, Arc<DiskCap>>,
}

impl DiskCaps {
    /// Caps the preopened directory the guest sees at `guest`.
    pub fn add(&mut self, guest: &str, cap: Arc<DiskCap>) {
        self.roots.push((guest.to_string(), cap));
    }

    fn of(&self, fd: &Resource<Descriptor>) -> Option<Arc<DiskCap>> {
        self.open.get(&fd.rep()).cloned()
    }

    /// Charges `bytes` to the cap of `fd`'s directory, if it has one.
    fn charge(&self, fd: &Resource<Descriptor>, bytes: u64) -> Result<(), ErrorCode> {
        match self.open.get(&fd.rep()) {
            Some(cap) => cap.charge_code(bytes),
            None => Ok(()),
        }
    }

    /// Every new descriptor is recorded, capped or not: a handle number
    /// the table hands out again must not keep an earlier file's cap.
    fn opened(&mut self, fd: &Resource<Descriptor>, cap: Option<Arc<DiskCap>>) {
        match cap {
            Some(cap) => {
                self.open.insert(fd.rep(), cap);
            }
            None => {
                self.open.remove(&fd.rep());
            }
        }
    }
}

/// A store whose filesystem calls are capped.
pub trait DiskView: WasiFilesystemView + PreopensView {
    fn disk(&mut self) -> &mut DiskCaps;
}

/// An output stream of a file under a cap: every write is charged first.
struct CappedStream {
    inner: DynOutputStream,
    cap: Arc<DiskCap>,
}

impl CappedStream {
    fn charge(&self, bytes: usize) -> StreamResult<()> {
        self.cap
            .charge(bytes as u64)
            .map_err(|e| StreamError::LastOperationFailed(e.into()))
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CappedStream {
    async fn ready(&mut self) {
        self.inner.ready().await
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for CappedStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.charge(bytes.len())?;
        self.inner.write(bytes)
    }

    fn flush(&mut self) -> StreamResult<()> {
        self.inner.flush()
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        self.inner.check_write()
    }

    async fn blocking_write_and_flush(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.charge(bytes.len())?;
        self.inner.blocking_write_and_flush(bytes).await
    }

    fn write_zeroes(&mut self, n: usize) -> StreamResult<()> {
        self.charge(n)?;
        self.inner.write_zeroes(n)
    }

    async fn write_ready(&mut self) -> StreamResult<usize> {
        self.inner.write_ready().await
    }

    async fn cancel(&mut self) {
        self.inner.cancel().await
    }
}

/// Replaces, in `linker` (which already holds WASI), the filesystem calls
/// that can make a directory take more space with versions that charge
/// the directory's cap first.
pub fn cap<T: DiskView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut preopens = linker.instance(PREOPENS)?;
    preopens.func_wrap("get-directories", |mut store, (): ()| {
        let (preopens, table) = store.data_mut().preopens_and_table();
        let dirs = preopens.hand_out(table)?;
        let disk = store.data_mut().disk();
        for (fd, path) in &dirs {
            let cap = disk
                .roots
                .iter()
                .find(|(guest, _)| guest == path)
                .map(|(_, c)| c.clone());
            disk.opened(fd, cap);
        }
        Ok((dirs,))
    })?;

    let mut types = linker.instance(TYPES)?;
    types.func_wrap_async(
        "[method]descriptor.open-at",
        |mut store,
         (fd, path_flags, path, open_flags, flags): (
            Resource<Descriptor>,
            PathFlags,
            String,
            OpenFlags,
            DescriptorFlags,
        )| {
            Box::new(async move {
                let cap = store.data_mut().disk().of(&fd);
                if let Some(cap) = &cap
                    && open_flags.contains(OpenFlags::CREATE)
                    && let Err(code) = cap.charge_code(BLOCK)
                {
                    return Ok((Err(code),));
                }
                let opened = HostDescriptor::open_at(
                    &mut store.data_mut().filesystem(),
                    fd,
                    path_flags,
                    path,
                    open_flags,
                    flags,
                )
                .await;
                let result = match opened {
                    Ok(new) => {
                        store.data_mut().disk().opened(&new, cap);
                        Ok(new)
                    }
                    Err(e) => Err(e.downcast()?),
                };
                Ok((result,))
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.write",
        |mut store, (fd, buffer, offset): (Resource<Descriptor>, Vec<u8>, Filesize)| {
            Box::new(async move {
                if let Err(code) = store.data_mut().disk().charge(&fd, buffer.len() as u64) {
                    return Ok((Err(code),));
                }
                let result =
                    HostDescriptor::write(&mut store.data_mut().filesystem(), fd, buffer, offset)
                        .await;
                Ok((code(result)?,))
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.set-size",
        |mut store, (fd, size): (Resource<Descriptor>, Filesize)| {
            Box::new(async move {
                if let Err(code) = store.data_mut().disk().charge(&fd, size) {
                    return Ok((Err(code),));
                }
                let result =
                    HostDescriptor::set_size(&mut store.data_mut().filesystem(), fd, size).await;
                Ok((code(result)?,))
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.create-directory-at",
        |mut store, (fd, path): (Resource<Descriptor>, String)| {
            Box::new(async move {
                if let Err(code) = store.data_mut().disk().charge(&fd, BLOCK) {
                    return Ok((Err(code),));
                }
                let result = HostDescriptor::create_directory_at(
                    &mut store.data_mut().filesystem(),
                    fd,
                    path,
                )
                .await;
                Ok((code(result)?,))
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.symlink-at",
        |mut store, (fd, old, new): (Resource<Descriptor>, String, String)| {
            Box::new(async move {
                if let Err(code) = store.data_mut().disk().charge(&fd, BLOCK) {
                    return Ok((Err(code),));
                }
                let result =
                    HostDescriptor::symlink_at(&mut store.data_mut().filesystem(), fd, old, new)
                        .await;
                Ok((code(result)?,))
            })
        },
    )?;
    types.func_wrap_async(
        "[method]descriptor.link-at",
        |mut store,
         (fd, old_flags, old, new_fd, new): (
            Resource<Descriptor>,
            PathFlags,
            String,
            Resource<Descriptor>,
            String,
        )| {
            Box::new(async move {
                if let Err(code) = store.data_mut().disk().charge(&new_fd, BLOCK) {
                    return Ok((Err(code),));
                }
                let result = HostDescriptor::link_at(
                    &mut store.data_mut().filesystem(),
                    fd,
                    old_flags,
                    old,
                    new_fd,
                    new,
                )
                .await;
                Ok((code(result)?,))
            })
        },
    )?;
    types.func_wrap(
        "[method]descriptor.write-via-stream",
        |mut store, (fd, offset): (Resource<Descriptor>, Filesize)| {
            let cap = store.data_mut().disk().of(&fd);
            let mut view = store.data_mut().filesystem();
            let result = match HostDescriptor::write_via_stream(&mut view, fd, offset) {
                Ok(stream) => Ok(capped(view.table, stream, cap)?),
                Err(e) => Err(e.downcast()?),
            };
            Ok((result,))
        },
    )?;
    types.func_wrap(
        "[method]descriptor.append-via-stream",
        |mut store, (fd,): (Resource<Descriptor>,)| {
            let cap = store.data_mut().disk().of(&fd);
            let mut view = store.data_mut().filesystem();
            let result = match HostDescriptor::append_via_stream(&mut view, fd) {
                Ok(stream) => Ok(capped(view.table, stream, cap)?),
                Err(e) => Err(e.downcast()?),
            };
            Ok((result,))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// A filesystem error as the guest gets it; a trap stays a trap.
fn code<T>(result: FsResult<T>) -> wasmtime::Result<Result<T, ErrorCode>> {
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(e) => Ok(Err(e.downcast()?)),
    }
}

/// The stream of a file under `cap`, wrapped so that its writes are
/// charged; any other stream as it is.
fn capped(
    table: &mut wasmtime::component::ResourceTable,
    stream: Resource<DynOutputStream>,
    cap: Option<Arc<DiskCap>>,
) -> wasmtime::Result<Resource<DynOutputStream>> {
    let Some(cap) = cap else {
        return Ok(stream);
    };
    let inner = table.delete(stream)?;
    let wrapped: DynOutputStream = Box::new(CappedStream { inner, cap });
    Ok(table.push(wrapped)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_charge_past_the_cap_fails_and_space_given_back_counts_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("held");
        std::fs::write(&file, vec![0u8; 60 * 1024]).unwrap();
        let cap = DiskCap::new(dir.path(), 64 * 1024, "max_state_size");
        cap.charge(4 * 1024).expect("fits");
        assert_eq!(*cap.used.lock().unwrap(), Some(64 * 1024));
        let err = cap.charge(8 * 1024).expect_err("past the cap, recounted");
        assert_eq!(err.raw_os_error(), Some(ENOSPC));
        std::fs::remove_file(&file).unwrap();
        cap.charge(60 * 1024)
            .expect("the recount gave the space back");
    }

    #[test]
    fn every_entry_counts_at_least_one_block() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("a"), b"x").unwrap();
        std::fs::create_dir(dir.path().join("d")).unwrap();
        std::fs::write(dir.path().join("d/b"), vec![0u8; 5000]).unwrap();
        assert_eq!(usage(dir.path()), BLOCK + BLOCK + 2 * BLOCK);
    }
}
