//! The sandlog guest: CPython on WASI with the `syslogng` compatibility
//! package and the loader, built into a component by `build.rs` from
//! `python/` and the root `wit/`. Nothing here is committed in built form.

/// The guest component (CPython, pre-initialised with the loader).
pub static COMPONENT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/guest.wasm"));

/// The Python standard library matching the guest's CPython, as a
/// zstd-compressed tar. The host unpacks it once into its cache and mounts
/// it read-only at [`STDLIB_GUEST_PATH`].
pub static STDLIB_TAR_ZST: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/python-lib.tar.zst"));

include!(concat!(env!("OUT_DIR"), "/digests.rs"));

/// What the host and the guest agree on (names only the host sets, shared
/// defaults); the guest's copy is generated from the same file.
pub mod shared {
    include!("shared.rs");
}

/// Where the guest's CPython looks for its standard library (its
/// `PYTHONHOME` at build time).
pub const STDLIB_GUEST_PATH: &str = "/python";
