//! A sharded fleet: nodes given the same configuration and `--shard I/N`
//! run each source exactly once between them, a change of N moves only
//! what the hash moves, and a node with no source idles until a reload.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sandlog::config::shard::owner;

use crate::util::{self, ChildGuard, Setup};

const LIMIT: Duration = Duration::from_secs(120);
const SOURCES: usize = 300;

fn name(i: usize) -> String {
    format!("tenant-{i:03}")
}

/// `SOURCES` sources that each post one message and return, on stdout,
/// and `extra` after them.
fn fleet(extra: &str) -> Setup {
    let mut config = String::new();
    for i in 0..SOURCES {
        config.push_str(&format!(
            "[[source]]\nname = \"{}\"\nscript = \"shard_member.py\"\nclass = \"Member\"\n\n",
            name(i)
        ));
    }
    config.push_str(extra);
    Setup::new(&config).script("shard_member.py")
}

/// A running `sandlog run --shard`, its stdout read as it comes.
struct Node {
    child: ChildGuard,
    lines: Arc<Mutex<Vec<String>>>,
    reader: std::thread::JoinHandle<()>,
}

impl Node {
    fn start(setup: &Setup, shard: &str) -> Node {
        let mut cmd = setup.command();
        cmd.arg("--shard").arg(shard);
        let mut child = util::spawn(&mut cmd, "sandlog");
        let stdout = child.stdout().expect("stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                sink.lock().unwrap().push(line);
            }
        });
        Node {
            child,
            lines,
            reader,
        }
    }

    fn count(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    /// SIGTERM, then the sources each of its messages came from, and its
    /// host log.
    fn stop(self) -> (Vec<String>, String) {
        self.child.signal("TERM");
        let out = util::wait(self.child, LIMIT);
        out.assert_success();
        self.reader.join().unwrap();
        let lines = self.lines.lock().unwrap().join("\n");
        let sources = util::json_lines(&lines)
            .iter()
            .map(|l| l["SOURCE"].as_str().unwrap_or_default().to_owned())
            .collect();
        (sources, out.stderr)
    }
}

#[test]
fn three_shards_run_each_source_exactly_once() {
    let setup = fleet("");
    let nodes: Vec<Node> = (0..3)
        .map(|i| Node::start(&setup, &format!("{i}/3")))
        .collect();
    let started = Instant::now();
    while nodes.iter().map(Node::count).sum::<usize>() < SOURCES && started.elapsed() < LIMIT {
        std::thread::sleep(Duration::from_millis(50));
    }
    // Time for a source run twice to show it.
    std::thread::sleep(Duration::from_millis(500));
    let mut runs: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for (i, node) in (0u32..).zip(nodes) {
        let (sources, stderr) = node.stop();
        assert!(
            stderr.contains(&format!("shard={i}/3")),
            "node {i} does not name its shard:\n{stderr}"
        );
        for source in sources {
            runs.entry(source).or_default().push(i);
        }
    }
    let twice: Vec<_> = runs.iter().filter(|(_, on)| on.len() > 1).collect();
    assert!(twice.is_empty(), "run more than once: {twice:?}");
    let missing: Vec<String> = (0..SOURCES)
        .map(name)
        .filter(|n| !runs.contains_key(n))
        .collect();
    assert!(missing.is_empty(), "never ran: {missing:?}");
    assert_eq!(runs.len(), SOURCES, "{runs:?}");
    for (source, on) in &runs {
        assert_eq!(on[0], owner(source, 3), "{source} ran on the wrong shard");
    }
    let per_shard: Vec<usize> = (0..3)
        .map(|i| runs.values().filter(|on| on[0] == i).count())
        .collect();
    assert!(
        per_shard.iter().all(|&n| n >= 70),
        "one shard got too few: {per_shard:?}"
    );
}

/// The sources `sandlog check --shard` lists, and its last line.
fn listed(setup: &Setup, shard: &str) -> (BTreeSet<String>, String) {
    let mut cmd = Command::new(util::bin());
    cmd.arg("--cache-dir")
        .arg(util::cache_dir())
        .args(["check", "--shard", shard])
        .arg(setup.config_path())
        .env_remove("SANDLOG_SHARD")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let out = util::wait(util::spawn(&mut cmd, "sandlog check"), LIMIT);
    out.assert_success();
    let names = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("ok      "))
        .map(str::to_owned)
        .collect();
    let last = out.stdout.lines().last().unwrap_or_default().to_owned();
    (names, last)
}

/// Which shard of `count` lists each source; every source in exactly one.
fn assignment(setup: &Setup, count: u32, total: usize) -> BTreeMap<String, u32> {
    let mut on = BTreeMap::new();
    for i in 0..count {
        let (names, last) = listed(setup, &format!("{i}/{count}"));
        assert!(
            last.contains(&format!(
                "shard {i}/{count} runs {} of {total} sources",
                names.len()
            )),
            "{last}"
        );
        for n in names {
            assert!(on.insert(n.clone(), i).is_none(), "{n} listed twice");
        }
    }
    assert_eq!(on.len(), total, "every source listed once");
    on
}

#[test]
fn four_shards_move_only_the_sources_the_hash_moves() {
    let setup = fleet(
        "[[source]]\nname = \"pinned\"\nscript = \"shard_member.py\"\nclass = \"Member\"\nshard = 1\n",
    );
    let total = SOURCES + 1;
    let three = assignment(&setup, 3, total);
    let four = assignment(&setup, 4, total);
    assert_eq!((three["pinned"], four["pinned"]), (1, 1));
    let mut moved = BTreeSet::new();
    for (source, &before) in &three {
        let after = four[source];
        if source != "pinned" {
            assert_eq!(
                (before, after),
                (owner(source, 3), owner(source, 4)),
                "{source}"
            );
        }
        if before != after {
            assert_eq!(after, 3, "{source} moved from {before} to {after}");
            moved.insert(source.clone());
        }
    }
    // Rendezvous hashing moves exactly the sources whose new winner is the
    // new shard: about a quarter of them.
    let predicted: BTreeSet<String> = (0..SOURCES)
        .map(name)
        .filter(|n| owner(n, 4) == 3)
        .collect();
    assert_eq!(moved, predicted);
    assert!((50..=100).contains(&moved.len()), "{} moved", moved.len());
}

#[test]
fn check_without_a_shard_keeps_its_listing_and_a_bad_shard_is_refused() {
    let setup = Setup::new(
        "[[source]]\nname = \"a\"\nscript = \"shard_member.py\"\nclass = \"Member\"\nshard = 2\n\
         [[source]]\nname = \"b\"\nscript = \"shard_member.py\"\nclass = \"Member\"\n",
    )
    .script("shard_member.py");
    let check = |args: &[&str]| {
        let mut cmd = Command::new(util::bin());
        cmd.arg("--cache-dir")
            .arg(util::cache_dir())
            .arg("check")
            .args(args)
            .arg(setup.config_path())
            .env_remove("SANDLOG_SHARD")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        util::wait(util::spawn(&mut cmd, "sandlog check"), LIMIT)
    };
    let out = check(&[]);
    out.assert_success();
    assert_eq!(
        out.stdout,
        format!(
            "ok      a\nok      b\n{}: 2 of 2 sources sound\n",
            setup.config_path().display()
        )
    );
    for (bad, why) in [
        ("3/3", "the index must be below the count"),
        ("0/0", "the count must be at least 1"),
        ("two", "expected I/N"),
    ] {
        let out = check(&["--shard", bad]);
        assert!(!out.status.success(), "--shard {bad} was accepted");
        assert!(out.stderr.contains(why), "--shard {bad}: {}", out.stderr);
    }
    // A pin beyond the count is an error that names the source and key.
    let out = check(&["--shard", "0/2"]);
    assert!(!out.status.success());
    assert!(
        out.stderr
            .contains("source \"a\": key `shard`: 2 is not a shard of 2"),
        "{}",
        out.stderr
    );
}

/// One source, pinned to `pin`, that posts one message and returns.
fn pinned_to(pin: u32) -> String {
    format!(
        "[[source]]\nname = \"only\"\nscript = \"shard_member.py\"\nclass = \"Member\"\nshard = {pin}\n\
         [[destination]]\ntype = \"file\"\npath = \"out.jsonl\"\n"
    )
}

#[test]
fn a_shard_with_no_source_idles_until_a_reload_gives_it_one() {
    let setup = Setup::new(&pinned_to(0)).script("shard_member.py");
    // The shard from the environment, as a StatefulSet sets it.
    let mut cmd = setup.command();
    cmd.env("SANDLOG_SHARD", "1/2");
    let mut child = util::spawn(&mut cmd, "sandlog");
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        std::fs::metadata(setup.path("out.jsonl")).map_or(0, |m| m.len()) == 0,
        "shard 1/2 ran a source pinned to 0"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "a shard with no source must keep running"
    );
    // The reload keeps shard 1/2 and applies it to the new configuration.
    std::fs::write(setup.config_path(), pinned_to(1)).unwrap();
    child.signal("HUP");
    assert!(
        util::wait_for_file_lines(&setup.path("out.jsonl"), 1, LIMIT),
        "the source pinned to 1 never ran after the reload"
    );
    // The environment's shard wins over the file's: `only`, pinned to 0
    // again, does not start here.
    std::fs::write(
        setup.config_path(),
        format!("shard = \"0/2\"\n{}", pinned_to(0)),
    )
    .unwrap();
    child.signal("HUP");
    std::thread::sleep(Duration::from_millis(500));
    child.signal("TERM");
    let out = util::wait(child, LIMIT);
    out.assert_success();
    assert!(
        out.stderr
            .contains("this shard runs none of the sources; waiting for a reload or a stop"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("reload refused"),
        "the command line's shard wins over the file's:\n{}",
        out.stderr
    );
    let text = std::fs::read_to_string(setup.path("out.jsonl")).unwrap();
    let sources: Vec<_> = util::json_lines(&text)
        .iter()
        .map(|l| l["SOURCE"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(sources, ["only"]);
}

#[test]
fn a_reload_that_changes_the_config_shard_is_refused() {
    let setup = Setup::new(&format!("shard = \"0/2\"\n{}", pinned_to(0))).script("shard_member.py");
    let child = setup.spawn();
    assert!(
        util::wait_for_file_lines(&setup.path("out.jsonl"), 1, LIMIT),
        "the source pinned to shard 0 never ran"
    );
    std::fs::write(
        setup.config_path(),
        format!("shard = \"0/3\"\n{}", pinned_to(0)),
    )
    .unwrap();
    child.signal("HUP");
    std::thread::sleep(Duration::from_millis(500));
    child.signal("TERM");
    let out = util::wait(child, LIMIT);
    out.assert_success();
    assert!(
        out.stderr.contains(
            "reload refused: the shard changed from 0/2 to 0/3; restart sandlog to apply it"
        ),
        "{}",
        out.stderr
    );
}
