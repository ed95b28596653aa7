//! Builds the guest component from `python/` and the root `wit/` with
//! componentize-py, and stages the Python standard library that the host
//! mounts read-only at run time so that scripts can import any of it.
//!
//! It also builds the native message path (`native/`, see
//! `native/README.md`) with Debian's wasm toolchain and puts it on the
//! guest's python path. When the toolchain is missing it installs it from
//! Debian's packages if it can (as root, with apt-get); where it cannot,
//! the guest keeps the pure-Python path and the build says so in a
//! warning.

use std::collections::HashMap;
use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

const COMPONENTIZE_PY: &str = "componentize-py-0.25.1";

mod shared {
    #![allow(dead_code)]
    include!("src/shared.rs");
}

fn main() -> Result<()> {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").context("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(env::var_os("OUT_DIR").context("OUT_DIR")?);
    let wit = manifest.join("../wit");
    let python = manifest.join("python");
    println!("cargo:rerun-if-changed={}", wit.display());
    println!("cargo:rerun-if-changed={}", python.display());
    rerun_for_tree(&python)?;
    println!(
        "cargo:rerun-if-changed={}",
        manifest.join("src/shared.rs").display()
    );
    let native_src = manifest.join("native");
    rerun_for_tree(&native_src)?;
    println!("cargo:rerun-if-env-changed={NATIVE_SWITCH}");

    let stdlib = find_stdlib_archive()?;
    fs::copy(&stdlib, out.join("python-lib.tar.zst"))
        .with_context(|| format!("copying {}", stdlib.display()))?;

    let native = build_native(&native_src, &out, &stdlib)?;
    let generated = out.join("python");
    write_shared_module(&generated, native.is_some())?;

    let component = out.join("guest.wasm");
    let python_dir = python.to_str().context("non-UTF-8 path")?.to_owned();
    let generated_dir = generated.to_str().context("non-UTF-8 path")?.to_owned();
    let mut python_path = vec![python_dir.as_str(), generated_dir.as_str()];
    let native_dir = match &native {
        Some(dir) => Some(dir.to_str().context("non-UTF-8 path")?.to_owned()),
        None => None,
    };
    if let Some(dir) = &native_dir {
        python_path.push(dir.as_str());
    }
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
                python_path: &python_path,
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

/// Set to `0` to build the guest without its native message path (to
/// measure the pure-Python path, for instance).
const NATIVE_SWITCH: &str = "SANDLOG_GUEST_NATIVE";

/// The Debian packages that provide what `native/build.sh` runs and reads.
const NATIVE_PACKAGES: &str = "clang-16 lld-16 wasi-libc python3.11-dev zstd";

/// Builds `_sandlog_native.abi3.so` into a directory of its own (a
/// `python_path` entry holds only what the guest may import) and returns
/// that directory; `None`, with a warning, when it is switched off or the
/// toolchain is missing. A toolchain that is there but fails is an error:
/// a guest silently without its fast path would only show in benchmarks.
fn build_native(src: &Path, out: &Path, stdlib: &Path) -> Result<Option<PathBuf>> {
    let dir = out.join("native");
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    if env::var_os(NATIVE_SWITCH).is_some_and(|v| v == "0") {
        println!(
            "cargo:warning=the guest's native message path is off ({NATIVE_SWITCH}=0): \
             messages take the pure-Python path"
        );
        return Ok(None);
    }
    let mut missing = missing_toolchain();
    if !missing.is_empty() {
        match install_toolchain(&missing) {
            Ok(()) => missing = missing_toolchain(),
            Err(e) => println!("cargo:warning={}", format!("{e:#}").replace('\n', "; ")),
        }
    }
    if !missing.is_empty() {
        println!(
            "cargo:warning=the guest's native message path is off: {} not found; \
             installing the Debian packages {NATIVE_PACKAGES} (as .ci/run does) enables it",
            missing.join(", ")
        );
        return Ok(None);
    }
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let output = Command::new("sh")
        .arg(src.join("build.sh"))
        .arg(dir.join("_sandlog_native.abi3.so"))
        .arg(out.join("native-build"))
        .arg(stdlib)
        .output()
        .context("running native/build.sh")?;
    if !output.status.success() {
        bail!(
            "native/build.sh failed ({}); set {NATIVE_SWITCH}=0 to build without the native \
             message path\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(Some(dir))
}

/// What `native/build.sh` needs and this machine lacks.
fn missing_toolchain() -> Vec<String> {
    let mut missing = Vec::new();
    for program in ["clang-16", "wasm-ld-16", "zstd", "python3"] {
        if !on_path(program) {
            missing.push(program.to_owned());
        }
    }
    for header in [
        "/usr/include/wasm32-wasi/stdlib.h",
        "/usr/include/python3.11/Python.h",
    ] {
        if !Path::new(header).is_file() {
            missing.push(header.to_owned());
        }
    }
    missing
}

/// Installs the toolchain from Debian's packages, as a fresh machine's
/// first build must for the guest to get its fast path: only where that
/// is possible without asking (as root, with apt-get). Waits for another
/// apt-get (a second build, `.ci/run`) rather than failing on its lock.
fn install_toolchain(missing: &[String]) -> Result<()> {
    if !on_path("apt-get") {
        bail!("apt-get not found: cannot install {NATIVE_PACKAGES}");
    }
    let uid = Command::new("id")
        .arg("-u")
        .output()
        .context("running id -u")?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        bail!("not root: cannot install {NATIVE_PACKAGES} for the guest's native message path");
    }
    println!(
        "cargo:warning=installing the Debian packages {NATIVE_PACKAGES} for the guest's native \
         message path ({} not found)",
        missing.join(", ")
    );
    let apt = |args: &[&str]| -> Result<()> {
        let output = Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=300", "-qq"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .context("running apt-get")?;
        if !output.status.success() {
            bail!(
                "apt-get {} failed ({}): {}",
                args.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    };
    apt(&["update"])?;
    let mut install = vec!["install", "-y", "--no-install-recommends"];
    install.extend(NATIVE_PACKAGES.split(' '));
    apt(&install)
}

fn on_path(program: &str) -> bool {
    env::var_os("PATH")
        .is_some_and(|path| env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Writes `_sandlog_shared.py`: the constants of `src/shared.rs` for the
/// guest's Python, and whether the native message path was built.
fn write_shared_module(dir: &Path, native: bool) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let names: Vec<String> = shared::HOST_OWNED_NAMES
        .iter()
        .map(|n| format!("{n:?}"))
        .collect();
    let code = format!(
        "\"\"\"Generated by guest-python/build.rs from src/shared.rs: what the host\n\
         and the guest agree on. Do not edit.\"\"\"\n\n\
         HOST_OWNED_NAMES = frozenset(({},))\n\
         DEFAULT_GUEST_BUFFER = {}\n\
         DEFAULT_WINDOW = {}\n\
         DEFAULT_MAX_MESSAGE_SIZE = {}\n\
         MAX_NAME_CHARS = {}\n\
         MAX_TRANSPORT_NAME = {}\n\
         PENDING_PROBE_STR = {:?}\n\
         PENDING_PROBE_BYTES = bytes([{}])\n\
         PENDING_PROBE_WORD = {}\n\
         PENDING_MAX_AGE_MS = {}\n\
         NATIVE_MESSAGE_PATH = {}\n",
        names.join(", "),
        shared::DEFAULT_GUEST_BUFFER,
        shared::DEFAULT_WINDOW,
        shared::DEFAULT_MAX_MESSAGE_SIZE,
        shared::MAX_NAME_CHARS,
        shared::MAX_TRANSPORT_NAME,
        shared::PENDING_PROBE_STR,
        shared::PENDING_PROBE_BYTES
            .iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        shared::PENDING_PROBE_WORD,
        shared::PENDING_MAX_AGE_MS,
        if native { "True" } else { "False" },
    );
    fs::write(dir.join("_sandlog_shared.py"), code).context("writing _sandlog_shared.py")
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
