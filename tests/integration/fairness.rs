//! Fairness under overload: with more busy sources than cores, a source
//! that sleeps between posts still gets its turn soon after it wakes.

use std::time::{Duration, Instant};

use crate::util::{self, Setup};

const LIMIT: Duration = Duration::from_secs(60);

/// `spinners` busy sources beside one that posts `count` messages 5 ms
/// apart; returns how long its posts took by its own clock, in seconds.
fn poster_time(spinners: usize, count: usize) -> f64 {
    let mut config = String::new();
    for i in 0..spinners {
        config.push_str(&format!(
            "[[source]]\nname = \"spin{i}\"\nscript = \"busy_and_sleepy.py\"\nclass = \"Spin\"\n\n"
        ));
    }
    config.push_str(&format!(
        "[[source]]\nname = \"poster\"\nscript = \"busy_and_sleepy.py\"\nclass = \"Poster\"\n\
         options = {{ count = \"{count}\", interval = \"0.005\" }}\n\n\
         [[destination]]\ntype = \"file\"\npath = \"out.jsonl\"\n"
    ));
    let setup = Setup::new(&config).script("busy_and_sleepy.py");
    let child = setup.spawn();
    let out = setup.path("out.jsonl");
    let started = Instant::now();
    let mut took = None;
    while took.is_none() && started.elapsed() < LIMIT {
        std::thread::sleep(Duration::from_millis(50));
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        // The file is being written: a last line may be partial.
        took = text.lines().find_map(|l| {
            let m: serde_json::Value = serde_json::from_str(l).ok()?;
            m["MESSAGE"]
                .as_str()?
                .strip_prefix("done ")?
                .parse::<f64>()
                .ok()
        });
    }
    util::signal(&child, "TERM");
    util::wait(child, LIMIT).assert_success();
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let ticks = util::json_lines(&text)
        .iter()
        .filter(|m| {
            m["MESSAGE"]
                .as_str()
                .is_some_and(|t| t.starts_with("tick "))
        })
        .count();
    assert_eq!(ticks, count, "every post reached the file");
    took.unwrap_or_else(|| panic!("the poster did not finish within {LIMIT:?}"))
}

/// 40 posts 5 ms apart take 0.2 s alone. Round robin made each one wait
/// for every busy source ahead of it, twice: about 5 s here with 12
/// spinners on 2 cores. Now a woken source runs before the busy ones.
#[test]
fn a_source_that_sleeps_between_posts_gets_its_turn_beside_busy_ones() {
    let took = poster_time(12, 40);
    assert!(
        took < 1.5,
        "40 posts 5 ms apart took {took:.2} s beside 12 spinners"
    );
}
