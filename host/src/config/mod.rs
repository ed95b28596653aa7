//! The TOML configuration: raw serde structs that reject unknown keys, then
//! one validation step that produces the checked [`Config`]. Every error
//! names the file, the source and the key. One module per section:
//! [`source`], [`policy`], [`destination`]; [`shard`] picks a fleet node's
//! sources.

pub mod destination;
pub mod identity;
pub mod metrics;
pub mod policy;
pub mod shard;
pub mod source;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use self::destination::RawDestination;
use self::metrics::RawMetrics;
use self::policy::{Policies, RawPolicy};
use self::source::RawSource;
pub use self::source::{
    DEFAULT_FETCH_NO_DATA_DELAY, DEFAULT_GUEST_BUFFER, DEFAULT_LOG_IW_SIZE, DEFAULT_TIME_REOPEN,
    Restart, RestartPolicy, SourceSpec,
};
use crate::metrics::ListenerSpec;
use crate::sinks::DestinationSpec;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    state_dir: Option<PathBuf>,
    shard: Option<String>,
    metrics: Option<RawMetrics>,
    #[serde(default)]
    policy: BTreeMap<String, RawPolicy>,
    #[serde(default)]
    identity: BTreeMap<String, identity::RawIdentity>,
    #[serde(default, rename = "source")]
    sources: Vec<RawSource>,
    #[serde(default, rename = "destination")]
    destinations: Vec<RawDestination>,
}

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub sources: Vec<SourceSpec>,
    /// Never empty: standard output when the file names no destination.
    pub destinations: Vec<DestinationSpec>,
    /// Where sources keep state across restarts (Persist), relative to the
    /// config file; `--state-dir` overrides it.
    pub state_dir: Option<PathBuf>,
    /// Where and how the metrics are served. Default: nowhere.
    pub metrics: Option<ListenerSpec>,
    /// The shard of a fleet this node runs (`shard = "I/N"`; `--shard`
    /// overrides it, see [`Config::select_shard`]). Default: none, every
    /// source runs.
    pub shard: Option<shard::Shard>,
}

impl Config {
    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = fs::read_to_string(path)
            .with_context(|| format!("cannot read config {}", path.display()))?;
        Self::parse(path, &text)
    }

    /// Validates configuration text read from `path` (relative script
    /// paths are resolved against its directory).
    pub fn parse(path: &Path, text: &str) -> Result<Config> {
        let raw: RawConfig =
            toml::from_str(text).with_context(|| format!("invalid config {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let shown = path.display().to_string();

        // Built-in defaults, then [policy.default], then the named policy,
        // then a source's inline fields.
        let identities = identity::load_all(&raw.identity, base, &shown)?;
        let policies = Policies::build(&raw.policy, identities, base, &shown)?;

        let mut seen: HashMap<&str, usize> = HashMap::new();
        let mut sources = Vec::with_capacity(raw.sources.len());
        for (index, src) in raw.sources.iter().enumerate() {
            let name = src.name.as_str();
            let at = format!("{shown}: source #{} ({name:?})", index + 1);
            if name.is_empty() {
                bail!("{at}: key `name` must not be empty");
            }
            if let Some(first) = seen.insert(name, index) {
                bail!(
                    "{at}: key `name`: {name:?} is already the name of source #{}",
                    first + 1
                );
            }
            sources.push(src.check(&policies, path, &at)?);
        }

        let (destinations, destination_names) =
            destination::check_all(raw.destinations, base, &shown)?;
        for (spec, src) in sources.iter_mut().zip(&raw.sources) {
            let Some(names) = &src.destinations else {
                continue;
            };
            let mut chosen = Vec::with_capacity(names.len());
            for n in names {
                let Some(i) = destination_names
                    .iter()
                    .position(|d| d.as_deref() == Some(n.as_str()))
                else {
                    bail!(
                        "{shown}: source {:?}: key `destinations`: no destination is named {n:?}",
                        spec.name
                    );
                };
                if !chosen.contains(&i) {
                    chosen.push(i);
                }
            }
            spec.destinations = Some(chosen);
        }

        let state_dir = raw.state_dir.map(|d| base.join(d));
        let metrics = raw.metrics.as_ref().map(|m| m.check(&shown)).transpose()?;
        let shard = match &raw.shard {
            None => None,
            Some(text) => Some(
                text.parse::<shard::Shard>()
                    .map_err(|e| anyhow::anyhow!("{shown}: key `shard`: {e}"))?,
            ),
        };
        Ok(Config {
            path: path.to_owned(),
            sources,
            destinations,
            state_dir,
            metrics,
            shard,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config> {
        Config::parse(Path::new("/etc/sandlog/test.toml"), text)
    }

    /// The whole error chain of a config that must not load ("" if it did).
    fn error_of(text: &str) -> String {
        parse(text)
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default()
    }

    #[test]
    fn inline_source_defaults_to_stdout() -> Result<()> {
        let cfg = parse(
            "[[source]]\nname = \"a\"\nclass = \"A\"\ncode = \"x = 1\"\noptions = { n = \"3\" }\n",
        )?;
        assert_eq!(
            cfg.destinations,
            vec![DestinationSpec::Stdout(crate::sinks::stdout::StdoutSpec {
                format: crate::pipeline::render::Format::Json
            })]
        );
        assert_eq!(cfg.sources[0].options, vec![("n".into(), "3".into())]);
        assert_eq!(cfg.sources[0].guest_buffer, DEFAULT_GUEST_BUFFER);
        assert!(cfg.sources[0].filename.contains("test.toml"));
        Ok(())
    }

    #[test]
    fn unknown_key_is_an_error() {
        let err = error_of("[[source]]\nname = \"a\"\nclass = \"A\"\ncode = \"\"\nbogus = 1\n");
        assert!(err.contains("test.toml"), "{err}");
        assert!(err.contains("bogus"), "{err}");
    }

    #[test]
    fn a_backoff_cap_below_the_backoff_is_an_error() {
        let source = "[[source]]\nname = \"a\"\nclass = \"A\"\ncode = \"\"\n";
        // Against the default cap of a minute.
        let err = error_of(&format!("{source}restart_backoff = \"2m\"\n"));
        assert!(
            err.contains("`restart_backoff_max`: 1m is shorter than `restart_backoff` (2m)"),
            "{err}"
        );
        let err = error_of(&format!(
            "{source}restart_backoff = \"2s\"\nrestart_backoff_max = \"1s\"\n"
        ));
        assert!(
            err.contains("`restart_backoff_max`: 1s is shorter than `restart_backoff` (2s)"),
            "{err}"
        );
        assert!(
            parse(&format!(
                "{source}restart_backoff = \"2s\"\nrestart_backoff_max = \"2s\"\n"
            ))
            .is_ok()
        );
    }

    #[test]
    fn duplicate_names_are_an_error() {
        let err = error_of(
            "[[source]]\nname = \"a\"\nclass = \"A\"\ncode = \"\"\n[[source]]\nname = \"a\"\nclass = \"B\"\ncode = \"\"\n",
        );
        assert!(
            err.contains("source #2 (\"a\")") && err.contains("`name`"),
            "{err}"
        );
    }

    #[test]
    fn missing_script_names_source_and_key() {
        let err = error_of("[[source]]\nname = \"a\"\nclass = \"A\"\nscript = \"nope.py\"\n");
        assert!(
            err.contains("(\"a\")") && err.contains("`script`") && err.contains("nope.py"),
            "{err}"
        );
    }

    #[test]
    fn non_string_option_is_an_error() {
        let err =
            error_of("[[source]]\nname = \"a\"\nclass = \"A\"\ncode = \"\"\noptions = { n = 3 }\n");
        assert!(err.contains("string"), "{err}");
    }

    #[test]
    fn policies_layer_default_named_and_inline() -> Result<()> {
        let cfg = parse(
            r#"
[policy.default]
exit_grace = "2s"

[policy.strict]
memory = "64MiB"

[[source]]
name = "a"
class = "A"
code = ""
policy = "strict"

[[source]]
name = "b"
class = "A"
code = ""
policy = { base = "strict", exit_grace = "1s" }

[[source]]
name = "c"
class = "A"
code = ""
"#,
        )?;
        let [a, b, c] = &cfg.sources[..] else {
            panic!("three sources")
        };
        assert_eq!(
            (a.policy.memory, a.policy.exit_grace.as_secs()),
            (64 << 20, 2)
        );
        assert_eq!(
            (b.policy.memory, b.policy.exit_grace.as_secs()),
            (64 << 20, 1)
        );
        assert_eq!(
            (c.policy.memory, c.policy.exit_grace.as_secs()),
            (256 << 20, 2)
        );
        Ok(())
    }

    #[test]
    fn unknown_policy_and_bad_policy_values_are_errors() {
        let err =
            error_of("[[source]]\nname = \"a\"\nclass = \"A\"\ncode = \"\"\npolicy = \"nope\"\n");
        assert!(err.contains("`policy`") && err.contains("nope"), "{err}");
        let err = error_of("[policy.p]\nexit_grace = \"soon\"\n");
        assert!(
            err.contains("exit_grace") || err.contains("policy"),
            "{err}"
        );
        let err = error_of("[policy.p]\nnetwork.listen = [\"localhost:80\"]\n");
        assert!(
            err.contains("policy \"p\"") && err.contains("network.listen"),
            "{err}"
        );
    }

    #[test]
    fn sources_choose_destinations_by_name() -> Result<()> {
        let cfg = parse(
            "[[source]]\nname = \"a\"\nclass = \"A\"\ncode = \"\"\ndestinations = [\"two\"]\n\
             [[source]]\nname = \"b\"\nclass = \"A\"\ncode = \"\"\n\
             [[destination]]\ntype = \"stdout\"\nname = \"one\"\n\
             [[destination]]\ntype = \"file\"\nname = \"two\"\npath = \"x\"\n",
        )?;
        assert_eq!(cfg.sources[0].destinations, Some(vec![1]));
        assert_eq!(cfg.sources[1].destinations, None);
        let err = error_of(
            "[[source]]\nname = \"a\"\nclass = \"A\"\ncode = \"\"\ndestinations = [\"nope\"]\n",
        );
        assert!(
            err.contains("`destinations`") && err.contains("nope"),
            "{err}"
        );
        Ok(())
    }

    #[test]
    fn bad_class_and_both_code_forms_are_errors() {
        assert!(parse("[[source]]\nname = \"a\"\nclass = \"1A\"\ncode = \"\"\n").is_err());
        assert!(
            parse("[[source]]\nname = \"a\"\nclass = \"A\"\ncode = \"\"\nscript = \"a.py\"\n")
                .is_err()
        );
        assert!(parse("[[source]]\nname = \"a\"\nclass = \"A\"\n").is_err());
    }

    #[test]
    fn flags_window_and_keep_hostname() -> Result<()> {
        let base = "[[source]]\nname = \"a\"\nclass = \"A\"\ncode = \"\"\n";
        let cfg = parse(base)?;
        assert_eq!(cfg.sources[0].log_iw_size, DEFAULT_LOG_IW_SIZE);
        assert!(cfg.sources[0].keep_hostname);
        assert!(cfg.sources[0].flags.contains(&("parse".into(), true)));
        let cfg = parse(&format!(
            "{base}flags = [\"no-parse\", \"syslog_protocol\"]\nlog_iw_size = 5\nkeep_hostname = false\n"
        ))?;
        let s = &cfg.sources[0];
        assert!(s.flags.contains(&("parse".into(), false)));
        assert!(s.flags.contains(&("syslog-protocol".into(), true)));
        assert_eq!((s.log_iw_size, s.keep_hostname), (5, false));
        let err = error_of(&format!("{base}flags = [\"bogus\"]\n"));
        assert!(
            err.contains("unknown flag \"bogus\"") && err.contains("no-parse"),
            "{err}"
        );
        let err = error_of(&format!("{base}log_iw_size = 0\n"));
        assert!(err.contains("log_iw_size"), "{err}");
        Ok(())
    }

    #[test]
    fn option_keys_take_underscores_for_dashes() {
        let src = "[[source]]\nname = \"a\"\nclass = \"A\"\ncode = \"\"\n";
        let cfg = parse(&format!(
            "{src}options = {{ \"max-retries\" = \"3\", url = \"u\" }}\n"
        ))
        .unwrap();
        assert_eq!(
            cfg.sources[0].options,
            vec![
                ("max_retries".into(), "3".into()),
                ("url".into(), "u".into())
            ]
        );
        let err = error_of(&format!(
            "{src}options = {{ \"a-b\" = \"1\", a_b = \"2\" }}\n"
        ));
        assert!(
            err.contains("`options`") && err.contains("\"a_b\""),
            "{err}"
        );
    }

    #[test]
    fn absurd_durations_and_slices_name_their_key() {
        let src = "[[source]]\nname = \"a\"\nclass = \"A\"\ncode = \"\"\n";
        for (bad, key) in [
            ("policy = { exit_grace = \"1000000000y\" }", "exit_grace"),
            ("policy = { cpu = \"15ms\" }", "cpu"),
            ("policy = { cpu = \"1h\" }", "cpu"),
            (
                "restart_backoff = \"400days\"\nrestart_backoff_max = \"500days\"",
                "restart_backoff",
            ),
            ("time_reopen = \"10000y\"", "time_reopen"),
        ] {
            let err = error_of(&format!("{src}{bad}\n"));
            assert!(err.contains(&format!("`{key}`")), "{bad}: {err}");
        }
        let err = error_of(&format!(
            "{src}[[destination]]\ntype = \"syslog\"\ntransport = \"tcp\"\naddress = \"127.0.0.1:1\"\nshutdown_timeout = \"5000y\"\n"
        ));
        assert!(err.contains("`shutdown_timeout`"), "{err}");
    }

    #[test]
    fn recycle_above_must_fit_under_memory() -> Result<()> {
        let src = "[[source]]\nname = \"a\"\nclass = \"A\"\ncode = \"\"\n";
        let cfg = parse(&format!(
            "{src}policy = {{ memory = \"128MiB\", recycle_above = \"64MiB\" }}\n"
        ))?;
        assert_eq!(cfg.sources[0].policy.recycle_above, Some(64 * 1024 * 1024));
        for bad in [
            "policy = { memory = \"64MiB\", recycle_above = \"64MiB\" }",
            "policy = { recycle_above = \"8MiB\" }",
        ] {
            let err = error_of(&format!("{src}{bad}\n"));
            assert!(err.contains("recycle_above"), "{bad}: {err}");
        }
        Ok(())
    }
}
