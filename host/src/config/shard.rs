//! Which node of a fleet runs which source. Every node reads the same full
//! configuration and is told its shard, `I/N`; it runs the sources whose
//! name rendezvous hashing assigns to shard `I` of `N`, and the sources
//! pinned to `I` with a per-source `shard = I`.
//!
//! Rendezvous (highest random weight) hashing: each source gives every
//! shard a weight, the first eight bytes (big-endian) of
//! SHA-256(name ‖ shard index as four big-endian bytes), and the shard
//! with the highest weight runs it (the lower index on a tie). The weight
//! depends on nothing but the name and the index, so every node, build and
//! platform agrees without talking to the others, and going from N to N+1
//! shards moves only the sources whose highest weight is the new shard's:
//! about one in N+1, and none between the old shards.

use std::fmt;
use std::str::FromStr;

use anyhow::{Result, bail};
use sha2::{Digest, Sha256};

use super::Config;

/// Shard `index` of `count`, as `I/N` on the command line and in the
/// config (`0 <= I < N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl FromStr for Shard {
    type Err = String;

    /// Reads `I/N`, such as `0/3`.
    fn from_str(text: &str) -> Result<Shard, String> {
        let Some((i, n)) = text.split_once('/') else {
            return Err(format!(
                "{text:?} is not a shard: expected I/N, such as 0/3 (shard 0 of 3)"
            ));
        };
        let number = |part: &str, what: &str| {
            part.trim().parse::<u32>().map_err(|_| {
                format!("{text:?} is not a shard: {what} {part:?} is not a whole number")
            })
        };
        let (index, count) = (number(i, "the index")?, number(n, "the count")?);
        if count == 0 {
            return Err(format!(
                "{text:?} is not a shard: the count must be at least 1"
            ));
        }
        if index >= count {
            return Err(format!(
                "{text:?} is not a shard: the index must be below the count (shards are numbered 0 to {})",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The weight a source named `name` gives shard `index`.
pub fn weight(name: &str, index: u32) -> u64 {
    let mut hash = Sha256::new();
    hash.update(name.as_bytes());
    hash.update(index.to_be_bytes());
    let digest = hash.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// The shard of `count` (at least 1) that hashing gives the source named
/// `name`.
pub fn owner(name: &str, count: u32) -> u32 {
    let mut best = (0, weight(name, 0));
    for index in 1..count {
        let w = weight(name, index);
        // Strictly greater: a tie stays with the lower index.
        if w > best.1 {
            best = (index, w);
        }
    }
    best.0
}

impl Shard {
    /// Whether this shard runs a source named `name` with the pin `pin`.
    pub fn runs(&self, name: &str, pin: Option<u32>) -> bool {
        pin.unwrap_or_else(|| owner(name, self.count)) == self.index
    }
}

impl Config {
    /// Keeps the sources that `shard` runs: the command line's shard, else
    /// the config's `shard` key; with neither, every source (and pins are
    /// not looked at). A pin that names no shard of N is an error naming
    /// the file and the source. The shard applied is left in
    /// [`Config::shard`].
    pub fn select_shard(mut self, shard: Option<Shard>) -> Result<Config> {
        let Some(shard) = shard.or(self.shard) else {
            return Ok(self);
        };
        for spec in &self.sources {
            if let Some(pin) = spec.shard.filter(|&pin| pin >= shard.count) {
                bail!(
                    "{}: source {:?}: key `shard`: {pin} is not a shard of {} (they are numbered 0 to {})",
                    self.path.display(),
                    spec.name,
                    shard.count,
                    shard.count - 1
                );
            }
        }
        self.sources.retain(|s| shard.runs(&s.name, s.shard));
        self.shard = Some(shard);
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(text: &str) -> Shard {
        text.parse()
            .unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
    }

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("tenant-{i}")).collect()
    }

    #[test]
    fn shards_parse_and_malformed_ones_say_why() {
        assert_eq!(shard("0/1"), Shard { index: 0, count: 1 });
        assert_eq!(shard("2/3"), Shard { index: 2, count: 3 });
        assert_eq!(shard("2/3").to_string(), "2/3");
        for (bad, why) in [
            ("3/3", "below the count"),
            ("5/2", "below the count"),
            ("0/0", "at least 1"),
            ("1", "expected I/N"),
            ("", "expected I/N"),
            ("a/3", "the index \"a\""),
            ("1/", "the count \"\""),
            ("-1/3", "the index \"-1\""),
            ("1/3/4", "the count \"3/4\""),
        ] {
            let err = bad.parse::<Shard>().err().unwrap_or_default();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }

    /// Fixed expectations: a change of the hash (function, byte order,
    /// what is hashed) moves sources between the nodes of a running fleet,
    /// and must fail here first.
    #[test]
    fn the_assignment_is_fixed() {
        assert_eq!(weight("tenant-0", 0), 0x2037_c18f_a4c8_469e);
        let got: Vec<u32> = names(12).iter().map(|n| owner(n, 3)).collect();
        assert_eq!(got, [1, 0, 0, 0, 2, 0, 1, 0, 0, 2, 2, 1]);
        let got: Vec<u32> = ["a", "b", "c", "web", "db", "ü"]
            .iter()
            .map(|n| owner(n, 5))
            .collect();
        assert_eq!(got, [4, 2, 4, 1, 0, 0]);
        assert!(names(50).iter().all(|n| owner(n, 1) == 0));
    }

    #[test]
    fn the_shards_share_the_sources_evenly() {
        let names = names(10_000);
        for count in [2u32, 3, 7, 16] {
            let mut per = vec![0usize; count as usize];
            for n in &names {
                per[owner(n, count) as usize] += 1;
            }
            let fair = names.len() / count as usize;
            for (i, &got) in per.iter().enumerate() {
                // Within 10% of a fair share: a binomial spread at these
                // sizes stays well inside it.
                assert!(
                    got.abs_diff(fair) * 10 <= fair,
                    "{count} shards: shard {i} got {got}, a fair share is {fair}: {per:?}"
                );
            }
        }
    }

    #[test]
    fn one_more_shard_moves_only_what_it_takes() {
        let names = names(10_000);
        for count in [1u32, 2, 3, 8] {
            let mut moved = 0usize;
            for n in &names {
                let (before, after) = (owner(n, count), owner(n, count + 1));
                if before != after {
                    assert_eq!(after, count, "{n} moved between old shards");
                    moved += 1;
                }
            }
            let fair = names.len() / (count as usize + 1);
            assert!(
                moved.abs_diff(fair) * 10 <= fair,
                "{count} -> {}: {moved} moved, a fair share is {fair}",
                count + 1
            );
        }
    }

    #[test]
    fn a_pin_wins_over_the_hash() {
        let s = shard("1/3");
        let hashed_elsewhere = names(20)
            .into_iter()
            .find(|n| owner(n, 3) != 1)
            .unwrap_or_default();
        assert!(!s.runs(&hashed_elsewhere, None));
        assert!(s.runs(&hashed_elsewhere, Some(1)));
        let hashed_here = names(20)
            .into_iter()
            .find(|n| owner(n, 3) == 1)
            .unwrap_or_default();
        assert!(s.runs(&hashed_here, None));
        assert!(!s.runs(&hashed_here, Some(2)));
    }

    fn config(text: &str) -> Config {
        Config::parse(std::path::Path::new("/etc/sandlog/fleet.toml"), text)
            .unwrap_or_else(|e| panic!("{e:#}"))
    }

    fn sources(n: usize, extra: &str) -> String {
        let mut text = String::new();
        for name in names(n) {
            text.push_str(&format!(
                "[[source]]\nname = \"{name}\"\nclass = \"A\"\ncode = \"\"\n"
            ));
        }
        text + extra
    }

    #[test]
    fn the_command_line_wins_over_the_config_key() -> Result<()> {
        let text = format!("shard = \"1/2\"\n{}", sources(30, ""));
        let all = config(&text);
        assert_eq!(all.shard, Some(shard("1/2")));
        assert_eq!(all.sources.len(), 30);

        let from_file = config(&text).select_shard(None)?;
        assert_eq!(from_file.shard, Some(shard("1/2")));
        assert!(from_file.sources.iter().all(|s| owner(&s.name, 2) == 1));

        let from_flag = config(&text).select_shard(Some(shard("0/3")))?;
        assert_eq!(from_flag.shard, Some(shard("0/3")));
        let expected: Vec<String> = names(30).into_iter().filter(|n| owner(n, 3) == 0).collect();
        let got: Vec<String> = from_flag.sources.iter().map(|s| s.name.clone()).collect();
        assert_eq!(got, expected);

        let unsharded = config(&sources(30, "")).select_shard(None)?;
        assert_eq!((unsharded.shard, unsharded.sources.len()), (None, 30));
        Ok(())
    }

    #[test]
    fn pins_are_kept_and_checked_against_the_count() -> Result<()> {
        let text = sources(
            30,
            "[[source]]\nname = \"pinned\"\nclass = \"A\"\ncode = \"\"\nshard = 2\n",
        );
        for i in 0..3 {
            let picked = config(&text).select_shard(Some(shard(&format!("{i}/3"))))?;
            let has = picked.sources.iter().any(|s| s.name == "pinned");
            assert_eq!(has, i == 2, "shard {i}/3");
        }
        // Without sharding a pin changes nothing.
        assert_eq!(config(&text).select_shard(None)?.sources.len(), 31);
        let err = config(&text)
            .select_shard(Some(shard("0/2")))
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(
            err.contains("fleet.toml")
                && err.contains("\"pinned\"")
                && err.contains("`shard`")
                && err.contains("2 is not a shard of 2"),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn a_bad_shard_key_names_the_file_and_key() {
        for bad in ["shard = \"3/3\"", "shard = \"x\"", "shard = 2"] {
            let err = Config::parse(
                std::path::Path::new("/etc/sandlog/fleet.toml"),
                &format!("{bad}\n{}", sources(1, "")),
            )
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
            assert!(
                err.contains("fleet.toml") && err.contains("shard"),
                "{bad}: {err}"
            );
        }
    }
}
