//! `sandlog check`: every source loaded in its own sandbox under its
//! policy, as `run` would load it (its code compiled, its module level
//! run, its class found and checked), without init() or run(), each
//! bounded by its exit grace. Packages on a source's `python_path` that
//! ship native extensions (which cannot load in the sandbox) are imported
//! there too: one that fails to import is a problem named with its files,
//! one that falls back to pure Python is a note.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;

use super::lifecycle::{sandbox_spec, setup};
use crate::config::{Config, SourceSpec};
use crate::engine::Runtime;
use crate::guest_api::gate::LogBudget;
use crate::guest_api::{Control, GuestApi};
use crate::metrics::SourceMetrics;
use crate::pipeline::delivery::Delivery;
use crate::pipeline::queue::Sinks;
use crate::pipeline::render::SourceFields;
use crate::sandbox::Sandboxes;

/// What `check` found for one source.
#[derive(Debug, Default)]
pub struct Verdict {
    /// What keeps it from running, if anything.
    pub problem: Option<String>,
    /// What an operator should know all the same.
    pub notes: Vec<String>,
}

/// Checks each source of `config`; returns its name and verdict.
pub async fn check(config: &Config, runtime: Arc<Runtime>) -> Vec<(String, Verdict)> {
    let sandboxes = match Sandboxes::new(&runtime) {
        Ok(s) => s,
        Err(e) => {
            let verdict = Verdict {
                problem: Some(format!("{e:#}")),
                notes: Vec::new(),
            };
            return vec![("(guest)".into(), verdict)];
        }
    };
    let mut results = Vec::new();
    for spec in &config.sources {
        let verdict = match check_one(spec, &sandboxes).await {
            Ok(notes) => Verdict {
                problem: None,
                notes,
            },
            Err(e) => Verdict {
                problem: Some(format!("{e:#}")),
                notes: Vec::new(),
            },
        };
        results.push((spec.name.clone(), verdict));
    }
    results
}

/// A top-level module or package on a `python_path` directory, with the
/// native extension files it holds.
#[derive(Debug, PartialEq)]
pub struct Native {
    pub module: String,
    pub dir: PathBuf,
    pub files: Vec<String>,
}

/// A native extension module: a `.so` (or `.pyd`) file.
fn is_extension(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e == "so" || e == "pyd" || e == "dylib")
}

/// The extension files under `dir`, relative to `root`, at most 64.
fn extensions_under(dir: &Path, root: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if out.len() >= 64 {
            return;
        }
        if path.is_dir() {
            extensions_under(&path, root, out);
        } else if is_extension(&path) {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            out.push(rel.display().to_string());
        }
    }
}

/// The modules and packages of `python_path` that hold native extensions.
pub fn native_modules(python_path: &[PathBuf]) -> Vec<Native> {
    let mut found = Vec::new();
    for dir in python_path {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for path in entries {
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.starts_with('.') || name.ends_with(".dist-info") || name == "__pycache__" {
                continue;
            }
            let (module, files) = if path.is_dir() {
                let mut files = Vec::new();
                extensions_under(&path, dir, &mut files);
                (name.to_owned(), files)
            } else if is_extension(&path) {
                let module = name.split('.').next().unwrap_or(name).to_owned();
                (module, vec![name.to_owned()])
            } else {
                continue;
            };
            let valid = module
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !module.is_empty();
            if valid && !files.is_empty() {
                found.push(Native {
                    module,
                    dir: dir.clone(),
                    files,
                });
            }
        }
    }
    found
}

async fn check_one(spec: &SourceSpec, sandboxes: &Sandboxes) -> Result<Vec<String>> {
    let metrics = Arc::new(SourceMetrics::default());
    let name: Arc<str> = Arc::from(spec.name.as_str());
    let delivery = Delivery::new(
        name.clone(),
        SourceFields::new(&spec.name, "check"),
        Sinks::default(),
        metrics.clone(),
    );
    let budget = Arc::new(LogBudget::new(
        name.clone(),
        spec.policy.log_rate,
        spec.policy.log_burst,
        metrics.clone(),
    ));
    let api = GuestApi::new(
        name,
        Arc::new(Control::default()),
        delivery,
        spec.policy.max_message_size,
        budget,
    );
    let mut store = sandboxes.new_store(&sandbox_spec(spec), api, None, metrics)?;
    let guest = sandboxes.instantiate(&mut store).await?;
    let setup = setup(spec);
    let src = guest.sandlog_guest_source();
    let grace = spec.policy.exit_grace;
    match tokio::time::timeout(grace, src.call_load(&mut store, &setup)).await {
        Ok(Ok(Ok(()))) => {}
        // The traceback ends with the exception; for a SyntaxError it shows
        // the file, the line and a caret.
        Ok(Ok(Err(f))) if !f.traceback.is_empty() => anyhow::bail!("{}", f.traceback),
        Ok(Ok(Err(f))) => anyhow::bail!("{}: {}", f.kind, f.message),
        Ok(Err(trap)) => anyhow::bail!("the guest trapped while loading: {trap:#}"),
        Err(_) => anyhow::bail!("loading did not finish within the exit grace ({grace:?})"),
    }
    let native = native_modules(&spec.python_path);
    if native.is_empty() {
        return Ok(Vec::new());
    }
    let modules: Vec<String> = native.iter().map(|n| n.module.clone()).collect();
    let failed = match tokio::time::timeout(grace, src.call_probe_imports(&mut store, &modules))
        .await
    {
        Ok(Ok(failed)) => failed,
        Ok(Err(trap)) => {
            anyhow::bail!("the guest trapped while importing the packages of python_path: {trap:#}")
        }
        Err(_) => anyhow::bail!(
            "importing the packages of python_path did not finish within the exit grace ({grace:?})"
        ),
    };
    let mut notes = Vec::new();
    let mut problems = Vec::new();
    for n in &native {
        let files = n.files.join(", ");
        match failed.iter().find(|(m, _)| *m == n.module) {
            Some((_, error)) => problems.push(format!(
                "python_path {}: `{}` needs a native extension, which cannot load in the sandbox \
                 ({files}): {error}; install a pure-Python build of it (docs/python-api.md)",
                n.dir.display(),
                n.module
            )),
            None => notes.push(format!(
                "python_path {}: `{}` ships native extensions that cannot load in the sandbox \
                 ({files}); it imports with its pure-Python fallback",
                n.dir.display(),
                n.module
            )),
        }
    }
    if !problems.is_empty() {
        anyhow::bail!("{}", problems.join("\n"));
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_extensions_are_found_by_package() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("fast/_impl")).unwrap();
        std::fs::write(root.join("fast/__init__.py"), "").unwrap();
        std::fs::write(
            root.join("fast/_impl/speed.cpython-311-x86_64-linux-gnu.so"),
            "",
        )
        .unwrap();
        std::fs::create_dir_all(root.join("pure")).unwrap();
        std::fs::write(root.join("pure/__init__.py"), "").unwrap();
        std::fs::write(root.join("_accel.abi3.so"), "").unwrap();
        std::fs::create_dir_all(root.join("fast-1.0.dist-info")).unwrap();
        let found = native_modules(&[root.to_owned()]);
        let names: Vec<&str> = found.iter().map(|n| n.module.as_str()).collect();
        assert_eq!(names, ["_accel", "fast"]);
        assert_eq!(
            found[1].files,
            ["fast/_impl/speed.cpython-311-x86_64-linux-gnu.so"]
        );
    }
}
