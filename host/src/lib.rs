//! sandlog runs untrusted Python log sources, written against the
//! AxoSyslog/syslog-ng Python API, each in its own WebAssembly sandbox, and
//! delivers their messages to log pipelines.
//!
//! The rooms, from the top down (each depends only on those below it):
//! - [`supervisor`]: drives every source through its lifecycle, restarts,
//!   reloads, stops them on a signal; `sandlog check`.
//! - [`config`]: the TOML configuration, parsed and validated in one place.
//! - [`sandbox`]: one source's store: its policy, network grant, files,
//!   limits and stdio.
//! - [`guest_api`]: the trust boundary: the host side of the WIT
//!   interface, and the gate every message from a guest passes.
//! - [`sinks`]: the destinations, one writer per kind.
//! - [`pipeline`]: a checked message on its way: rendering, batches, the
//!   queues to the destinations, acks.
//! - [`tls`]: TLS sessions for the guests' own connections, on rustls,
//!   under each source's policy.
//! - [`engine`]: the wasmtime engine, the compiled guest and the caches.
//! - [`metrics`], [`logging`], [`bindings`], [`units`], [`schedule`]:
//!   counters, the host's own log, the types generated from `wit/`, the
//!   bounds of config durations, and who runs next when more guests are
//!   runnable than there are cores, which every room may use.
//!
//! `docs/architecture.md` tells the path of a message through them.

pub mod bindings;
pub mod config;
pub mod engine;
pub mod guest_api;
pub mod logging;
pub mod metrics;
pub mod pipeline;
pub mod sandbox;
pub mod schedule;
pub mod sinks;
pub mod supervisor;
pub mod tls;
pub mod units;

/// The rooms above depend on each other in one direction only: a `use` of
/// `crate::ROOM` from another room that closes a circle fails this test.
#[cfg(test)]
mod layout {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::Path;

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// Which rooms each room refers to, outside tests and comments.
    fn edges() -> BTreeMap<String, BTreeSet<String>> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in files {
            let rel = file.strip_prefix(&src).unwrap_or(&file);
            let room = rel
                .components()
                .next()
                .and_then(|c| c.as_os_str().to_str())
                .unwrap_or_default()
                .trim_end_matches(".rs")
                .to_owned();
            if room == "lib" || room == "main" {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
                for part in line.split("crate::").skip(1) {
                    let used: String = part
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect();
                    if !used.is_empty() && used != room {
                        edges.entry(room.clone()).or_default().insert(used);
                    }
                }
            }
        }
        edges
    }

    #[test]
    fn no_room_depends_on_itself_through_others() {
        let edges = edges();
        assert!(edges.contains_key("supervisor"), "{edges:?}");
        for start in edges.keys() {
            let mut stack = vec![vec![start.clone()]];
            while let Some(path) = stack.pop() {
                let last = path.last().cloned().unwrap_or_default();
                for next in edges.get(&last).into_iter().flatten() {
                    assert!(
                        next != start,
                        "import circle: {} -> {next}",
                        path.join(" -> ")
                    );
                    if !path.contains(next) {
                        let mut longer = path.clone();
                        longer.push(next.clone());
                        stack.push(longer);
                    }
                }
            }
        }
    }
}
