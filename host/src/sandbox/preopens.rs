//! The directories a guest is given at start (WASI preopens), handed out by
//! the host instead of by `WasiCtx`.
//!
//! wasmtime-wasi opens every preopen anew for each context, so each source
//! held its own descriptor for the Python standard library: with ten
//! thousand sources, ten thousand open files of the process's limit for
//! one read-only directory. The library is opened once here and shared:
//! a directory descriptor carries no state a guest can change (reads of
//! its entries open their own descriptor, and the grant is read-only), so
//! sources cannot reach each other through it.

use std::fs::File;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use anyhow::{Context as _, Result};
use wasmtime::component::{Resource, ResourceTable};
use wasmtime_wasi::filesystem::{Descriptor, Dir};
use wasmtime_wasi::{FsPerms, OpenMode};

/// One directory as the guest sees it, at `guest_path`.
#[derive(Clone)]
pub struct Preopen {
    dir: Dir,
    guest_path: String,
}

impl Preopen {
    /// Opens `host` for a guest, at `guest_path`, with `perms`.
    pub fn open(host: &Path, guest_path: &str, perms: FsPerms) -> Result<Preopen> {
        // As wasmtime-wasi opens a preopen: a path handle, which holds no
        // read position and cannot be read or written itself.
        let file = File::options()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_PATH)
            .open(host)
            .with_context(|| format!("opening {} for the guest", host.display()))?;
        let open_mode = match perms {
            FsPerms::ReadOnly => OpenMode::READ,
            FsPerms::ReadWrite => OpenMode::READ | OpenMode::WRITE,
        };
        Ok(Preopen {
            dir: Dir::new(file, perms, open_mode, false),
            guest_path: guest_path.to_owned(),
        })
    }
}

/// The directories one guest is given, in the order it sees them.
#[derive(Default)]
pub struct Preopens(Vec<Preopen>);

impl Preopens {
    /// Adds `preopen`; a clone of a shared one shares its descriptor.
    pub fn push(&mut self, preopen: Preopen) {
        self.0.push(preopen);
    }
}

/// What handing out the preopens needs of a store.
pub trait PreopensView: Send {
    fn preopens_and_table(&mut self) -> (&Preopens, &mut ResourceTable);
}

impl Preopens {
    /// The guest's answer to `get-directories`: a new handle for each
    /// directory, in `table`. [`super::disk`] shadows that call, to know
    /// which handles its caps apply to.
    pub fn hand_out(
        &self,
        table: &mut ResourceTable,
    ) -> wasmtime::Result<Vec<(Resource<Descriptor>, String)>> {
        let mut dirs = Vec::with_capacity(self.0.len());
        for p in &self.0 {
            let fd: Resource<Descriptor> =
                table.push(Descriptor::Dir(p.dir.clone())).map_err(|e| {
                    wasmtime::Error::msg(format!("handing the guest {}: {e}", p.guest_path))
                })?;
            dirs.push((fd, p.guest_path.clone()));
        }
        Ok(dirs)
    }
}
