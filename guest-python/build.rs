//! Builds the guest component from `python/` and the root `wit/` with
//! componentize-py, and stages the Python standard library that the host
//! mounts read-only at run time so that scripts can import any of it.

use std::collections::HashMap;
use std::env;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

const COMPONENTIZE_PY: &str = "componentize-py-0.25.1";

fn main() -> Result<()> {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").context("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(env::var_os("OUT_DIR").context("OUT_DIR")?);
    let wit = manifest.join("../wit");
    let python = manifest.join("python");
    println!("cargo:rerun-if-changed={}", wit.display());
    println!("cargo:rerun-if-changed={}", python.display());
    rerun_for_tree(&python)?;

    let stdlib = find_stdlib_archive()?;
    fs::copy(&stdlib, out.join("python-lib.tar.zst"))
        .with_context(|| format!("copying {}", stdlib.display()))?;

    let component = out.join("guest.wasm");
    let python_dir = python.to_str().context("non-UTF-8 path")?.to_owned();
    let empty = HashMap::new();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(
            componentize_py::ComponentGenerator {
                wit_paths: &[wit.as_path()],
                worlds: &["sandlog-source"],
                features: &[],
                all_features: false,
                world_module: None,
                python_path: &[python_dir.as_str()],
                module_worlds: &[],
                app_name: "sandlog_guest",
                output_path: &component,
                add_to_linker: None,
                stub_wasi: false,
                import_interface_names: &empty,
                export_interface_names: &empty,
                full_names: false,
                intersect_world: None,
            }
            .generate(),
        )
        .context("building the guest component with componentize-py")?;
    write_digests(&out)?;
    Ok(())
}

/// Hashes the two embedded artefacts once, here, so that the host can key
/// its cache on them without hashing 20 MB at every start.
fn write_digests(out: &Path) -> Result<()> {
    let digest = |name: &str| -> Result<String> {
        let bytes = fs::read(out.join(name)).with_context(|| format!("reading {name}"))?;
        Ok(hex::encode(&Sha256::digest(&bytes)[..16]))
    };
    let code = format!(
        "/// SHA-256 (first 16 bytes, hex) of [`COMPONENT`].\n\
         pub const COMPONENT_DIGEST: &str = \"{}\";\n\
         /// SHA-256 (first 16 bytes, hex) of [`STDLIB_TAR_ZST`].\n\
         pub const STDLIB_DIGEST: &str = \"{}\";\n",
        digest("guest.wasm")?,
        digest("python-lib.tar.zst")?
    );
    fs::write(out.join("digests.rs"), code).context("writing digests.rs")
}

fn rerun_for_tree(dir: &Path) -> Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "__pycache__") {
                continue;
            }
            rerun_for_tree(&path)?;
        } else {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    Ok(())
}

/// The componentize-py crate ships the standard library that matches its
/// CPython as `python-lib.tar.zst` but keeps its accessor private, so the
/// archive is taken from the crate's unpacked source in the cargo home.
fn find_stdlib_archive() -> Result<PathBuf> {
    let home = match env::var_os("CARGO_HOME") {
        Some(h) => PathBuf::from(h),
        None => PathBuf::from(env::var_os("HOME").context("neither CARGO_HOME nor HOME is set")?)
            .join(".cargo"),
    };
    let registry = home.join("registry/src");
    let mut found = Vec::new();
    if let Ok(entries) = fs::read_dir(&registry) {
        for entry in entries.flatten() {
            let candidate = entry
                .path()
                .join(COMPONENTIZE_PY)
                .join("python-lib.tar.zst");
            if candidate.is_file() {
                found.push(candidate);
            }
        }
    }
    match found.into_iter().next() {
        Some(p) => Ok(p),
        None => bail!(
            "could not find {COMPONENTIZE_PY}/python-lib.tar.zst under {}",
            registry.display()
        ),
    }
}
