//! The `[metrics]` section: where the metrics listener binds, and its
//! bounds. The checked form is [`ListenerSpec`], next to the listener.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Result, bail};
use serde::Deserialize;

use crate::metrics::ListenerSpec;

/// The most connections the listener may be told to serve at once.
const MAX_MAX_CONNECTIONS: usize = 4096;

/// `[metrics]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    listen: String,
    max_connections: Option<usize>,
    #[serde(default, with = "humantime_serde")]
    read_timeout: Option<Duration>,
}

impl RawMetrics {
    /// Checks the section; `shown` is the config file as errors name it.
    pub fn check(&self, shown: &str) -> Result<ListenerSpec> {
        let Ok(listen) = self.listen.parse::<SocketAddr>() else {
            bail!(
                "{shown}: [metrics]: key `listen`: {:?} is not IP:PORT",
                self.listen
            );
        };
        let mut spec = ListenerSpec::new(listen);
        if let Some(n) = self.max_connections {
            if !(1..=MAX_MAX_CONNECTIONS).contains(&n) {
                bail!(
                    "{shown}: [metrics]: key `max_connections`: {n} is not between 1 and {MAX_MAX_CONNECTIONS}"
                );
            }
            spec.max_connections = n;
        }
        if let Some(t) = self.read_timeout {
            if t.is_zero() {
                bail!("{shown}: [metrics]: key `read_timeout` must be more than 0");
            }
            spec.read_timeout = t;
        }
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Result<ListenerSpec> {
        let raw: RawMetrics = toml::from_str(text)?;
        raw.check("sandlog.toml")
    }

    #[test]
    fn defaults_and_bounds() {
        let spec = check("listen = \"127.0.0.1:9464\"").expect("valid");
        assert_eq!(spec.max_connections, 16);
        assert_eq!(spec.read_timeout, Duration::from_secs(10));
        let spec = check("listen = \"[::1]:1\"\nmax_connections = 2\nread_timeout = \"1s\"")
            .expect("valid");
        assert_eq!(
            (spec.max_connections, spec.read_timeout),
            (2, Duration::from_secs(1))
        );
        let err = check("listen = \"127.0.0.1:1\"\nmax_connections = 0").expect_err("0");
        assert!(
            err.to_string()
                .contains("sandlog.toml: [metrics]: key `max_connections`"),
            "{err}"
        );
        let err = check("listen = \"127.0.0.1:1\"\nread_timeout = \"0s\"").expect_err("0 s");
        assert!(err.to_string().contains("key `read_timeout`"), "{err}");
        let err = check("listen = \"localhost\"").expect_err("no port");
        assert!(err.to_string().contains("key `listen`"), "{err}");
        assert!(check("listen = \"127.0.0.1:1\"\nbacklog = 5").is_err());
    }
}
