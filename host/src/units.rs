//! The bounds on durations a config may give. Every duration is added to
//! a clock reading or doubled somewhere; one that would overflow is a
//! config error that names its key, never an arithmetic panic later.

use std::time::Duration;

use anyhow::{Result, bail};

/// The longest duration any key takes: a year is past every sensible
/// grace, backoff and timeout, and far from overflowing a clock.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 24 * 3600);

/// `d`, or an error naming `key` at `at` when it is longer than
/// [`MAX_DURATION`].
pub fn duration(d: Duration, at: &str, key: &str) -> Result<Duration> {
    if d > MAX_DURATION {
        bail!(
            "{at}: key `{key}`: {} is longer than the longest duration sandlog takes (366 days)",
            humantime_serde::re::humantime::format_duration(d)
        );
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_durations_name_their_key() {
        assert!(duration(Duration::from_secs(5), "f", "k").is_ok());
        let e = duration(Duration::from_secs(u64::MAX), "f.toml", "exit_grace")
            .unwrap_err()
            .to_string();
        assert!(e.contains("f.toml: key `exit_grace`"), "{e}");
    }
}
