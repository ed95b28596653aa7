//! The guest's native message path (guest-python/native/): that it is the
//! one in use, and that it behaves as the Python code it replaces at the
//! edges where C could part from it.

use std::time::Duration;

use crate::util::Setup;

const LIMIT: Duration = Duration::from_secs(60);

/// Fails when the guest was built without the native path (the toolchain
/// missing, or `SANDLOG_GUEST_NATIVE=0`): the build only warns then, and
/// the slow path would otherwise go unnoticed.
#[test]
fn native_message_path_is_in_use() {
    let line = only_line("native_check.py", "NativeCheck");
    assert_eq!(
        (line["base"].as_str(), line["post"].as_str()),
        (Some("_sandlog_native.Message"), Some("method_descriptor")),
        "the guest was built without its native message path: install the Debian packages \
         clang-16 lld-16 wasi-libc python3.11-dev zstd (as .ci/run does), unset \
         SANDLOG_GUEST_NATIVE and rebuild; the build's warning says what was missing"
    );
}

/// Each case of the script checks the Python code's own results and
/// exceptions (it passes on a guest built without the native path too).
#[test]
fn message_edges_behave_as_the_python_path() {
    let setup = Setup::new(
        "[[source]]\nname = \"edges\"\nscript = \"message_edges.py\"\nclass = \"MessageEdges\"\n",
    )
    .script("message_edges.py");
    let out = setup.run(LIMIT);
    out.assert_success();
    let lines = out.lines();
    let results: Vec<(String, String)> = lines
        .iter()
        .filter_map(|l| {
            let result = l.get("result")?.as_str()?;
            Some((l["MESSAGE"].as_str()?.to_owned(), result.to_owned()))
        })
        .collect();
    let names: Vec<&str> = results.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "construction",
            "copies",
            "delete_while_iterating",
            "names",
            "reentrancy",
            "sizes",
            "stores",
            "str_subclass",
            "subclass",
            "tampered_slots"
        ],
        "stderr:\n{}",
        out.stderr
    );
    for (name, result) in &results {
        assert_eq!(result, "ok", "case {name}");
    }
    // What the cases posted arrived as posted.
    let posted: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l.get("result").is_none()).collect();
    assert_eq!(posted.len(), 7, "stdout:\n{}", out.stdout);
    assert!(
        posted.iter().any(|l| l["seq"] == "LOW"),
        "the subclass's message"
    );
    assert!(
        posted
            .iter()
            .any(|l| l["other"] == "\\xff\\xfe" && l["n"] == 6)
    );
    assert!(
        posted
            .iter()
            .any(|l| l["seq"] == "sub" && l["fresh"] == "f")
    );
}

/// The snapshot's objects are immortal: an instance that only uses one
/// (calls it, looks it up) writes no reference count, so the page it is on
/// stays shared with every other instance.
#[test]
fn snapshot_objects_are_immortal() {
    let line = only_line("snapshot_objects.py", "SnapshotObjects");
    let count = |key: &str| -> u64 {
        line[key]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {line}"))
    };
    let (total, mortal) = (count("total"), count("mortal"));
    assert!(total > 10_000, "only {total} objects found");
    // What the script itself made, its module included, stays mortal.
    assert!(
        mortal * 10 < total,
        "{mortal} of {total} objects are not immortal"
    );
    assert_eq!(line["json"], "{\"k\": [1, 2, 3]}");
}

/// The snapshot is taken after a throwaway source has run its whole life
/// (load, init(), run() with posts, waits and an asyncio loop, the exit)
/// against a stand-in host: nothing of that may be left for a real one.
#[test]
fn snapshot_warm_up_leaves_nothing_behind() {
    let (line, stderr) = only_run("snapshot_clean.py", "SnapshotClean");
    for (key, want) in [
        ("host_calls", "real"),
        ("logging_disabled", "0"),
        ("running_loop", "None"),
        ("pair_ends", "0"),
        ("exit_delivered", "False"),
        ("posted", "0"),
        ("run_done", "False"),
        ("first_pair_fd", "0"),
    ] {
        assert_eq!(line[key], want, "{key} in {line}");
    }
    assert!(
        stderr.contains("logging reaches the host"),
        "stderr:\n{stderr}"
    );
}

/// Runs `class` of `script` as the only source and returns the one line
/// it posts.
fn only_line(script: &str, class: &str) -> serde_json::Value {
    only_run(script, class).0
}

/// As [`only_line`], with the host log.
fn only_run(script: &str, class: &str) -> (serde_json::Value, String) {
    let setup = Setup::new(&format!(
        "[[source]]\nname = \"only\"\nscript = \"{script}\"\nclass = \"{class}\"\n"
    ))
    .script(script);
    let out = setup.run(LIMIT);
    out.assert_success();
    let mut lines = out.lines();
    assert_eq!(lines.len(), 1, "stderr:\n{}", out.stderr);
    (lines.remove(0), out.stderr)
}
