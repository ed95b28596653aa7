//! `[[source]]`: a source as written, and the checked [`SourceSpec`] it
//! becomes. Every error names the file, the source and the key.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use super::policy::{Policies, RawPolicy};
use crate::sandbox::Policy;
use crate::units;

/// How many messages a guest buffers before handing them to the host, by
/// default.
pub const DEFAULT_GUEST_BUFFER: u32 = sandlog_guest::shared::DEFAULT_GUEST_BUFFER;

/// A fetcher's wait before it reconnects: AxoSyslog's python-fetcher()
/// always waits 1 s, whatever `time-reopen()` says.
pub const DEFAULT_TIME_REOPEN: Duration = Duration::from_secs(1);

/// A fetcher's wait after NO_DATA: AxoSyslog takes the global
/// `time-reopen()`, 60 s unless the config changes it.
pub const DEFAULT_FETCH_NO_DATA_DELAY: Duration = Duration::from_secs(60);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub name: String,
    script: Option<PathBuf>,
    code: Option<String>,
    class: String,
    #[serde(default)]
    options: BTreeMap<String, String>,
    guest_buffer: Option<u32>,
    policy: Option<PolicyRef>,
    #[serde(default, with = "humantime_serde")]
    fetch_no_data_delay: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    time_reopen: Option<Duration>,
    pub destinations: Option<Vec<String>>,
    #[serde(default)]
    restart: Restart,
    #[serde(default, with = "humantime_serde")]
    restart_backoff: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    restart_backoff_max: Option<Duration>,
    restart_limit: Option<u32>,
    config_version: Option<String>,
    python_path: Option<Vec<PathBuf>>,
    log_iw_size: Option<u32>,
    flags: Option<Vec<String>>,
    keep_hostname: Option<bool>,
    shard: Option<u32>,
}

/// When a source whose run() ended is started again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    /// After run() raised, trapped or broke a limit (default). A run() that
    /// returns has finished.
    #[default]
    OnFailure,
    /// Also after run() returned.
    Always,
    /// Never.
    Never,
}

/// How a source is restarted.
#[derive(Debug, Clone, PartialEq)]
pub struct RestartPolicy {
    pub when: Restart,
    /// The wait before the first restart; doubled after each one. Default 1 s.
    pub backoff: Duration,
    /// The longest wait. Default: 60 s.
    pub backoff_max: Duration,
    /// Restarts after which sandlog gives up on the source; 0: never gives
    /// up. Default: 10.
    pub limit: u32,
}

/// A source's policy: the name of a `[policy.NAME]`, or an inline table
/// (which may start from a named policy with `base`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum PolicyRef {
    Name(String),
    Inline(Box<RawPolicy>),
}

/// One source, ready to run. Two specs are equal when nothing a reload
/// would change differs (the script's text included).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSpec {
    pub name: String,
    /// The file name shown in tracebacks: the script's path, or
    /// `<CONFIG:source NAME>` for inline code.
    pub filename: String,
    pub code: String,
    pub class_name: String,
    /// Handed to init() as a dict of strings.
    pub options: Vec<(String, String)>,
    /// Messages the guest may hold before handing them over; 0 hands over
    /// each message on its own. Default: [`DEFAULT_GUEST_BUFFER`].
    pub guest_buffer: u32,
    pub policy: Policy,
    /// Fetchers: the wait after fetch() returned NO_DATA. Default:
    /// [`DEFAULT_FETCH_NO_DATA_DELAY`].
    pub fetch_no_data_delay: Duration,
    /// Fetchers: the wait before open() is tried again after it failed or
    /// the fetcher disconnected. Default: [`DEFAULT_TIME_REOPEN`].
    pub time_reopen: Duration,
    /// The destinations this source feeds, as indices into
    /// [`Config::destinations`]. Default: all of them.
    pub destinations: Option<Vec<usize>>,
    pub restart: RestartPolicy,
    /// The syslog-ng config version the script was written for; below 4.0
    /// LogMessage behaves as in syslog-ng 3.x. Default: 4.x behaviour.
    pub compat_3x: bool,
    /// Host directories of pure-Python modules and packages, mounted
    /// read-only and put on the script's `sys.path`. Default: none.
    pub python_path: Vec<PathBuf>,
    /// AxoSyslog's log-iw-size: how many of the source's messages may wait
    /// for the destinations before post_message blocks (or suspend() is
    /// called). Default: [`DEFAULT_LOG_IW_SIZE`].
    pub log_iw_size: u32,
    /// The parse flags, as `self.flags` shows them (every flag with its
    /// value). Default: AxoSyslog's defaults.
    pub flags: Vec<(String, bool)>,
    /// Whether a HOST the script sets is kept; when not, HOST is the
    /// host name. Default: true.
    pub keep_hostname: bool,
    /// The shard that runs this source whatever the hash says (checked
    /// against the shard count in [`crate::config::Config::select_shard`]).
    /// Default: the hash decides.
    pub shard: Option<u32>,
}

/// The default window of a source (log-iw-size).
pub const DEFAULT_LOG_IW_SIZE: u32 = sandlog_guest::shared::DEFAULT_WINDOW;

/// The flags of a source as `self.flags` shows them, with AxoSyslog's
/// defaults, and the `flags` settings that change them.
const FLAG_DEFAULTS: [(&str, bool); 13] = [
    ("parse", true),
    ("check-hostname", false),
    // AxoSyslog's threaded sources turn it on for every config version.
    ("syslog-protocol", true),
    ("assume-utf8", false),
    ("validate-utf8", false),
    ("sanitize-utf8", false),
    ("multi-line", true),
    ("store-legacy-msghdr", true),
    ("store-raw-message", false),
    ("expect-hostname", true),
    ("guess-timezone", false),
    ("header", true),
    ("rfc3164-fallback", true),
];
const FLAG_SETTINGS: [(&str, &str, bool); 15] = [
    ("no-parse", "parse", false),
    ("check-hostname", "check-hostname", true),
    ("syslog-protocol", "syslog-protocol", true),
    ("assume-utf8", "assume-utf8", true),
    ("validate-utf8", "validate-utf8", true),
    ("sanitize-utf8", "sanitize-utf8", true),
    ("no-multi-line", "multi-line", false),
    ("store-legacy-msghdr", "store-legacy-msghdr", true),
    ("dont-store-legacy-msghdr", "store-legacy-msghdr", false),
    ("store-raw-message", "store-raw-message", true),
    ("expect-hostname", "expect-hostname", true),
    ("no-hostname", "expect-hostname", false),
    ("guess-timezone", "guess-timezone", true),
    ("no-header", "header", false),
    ("no-rfc3164-fallback", "rfc3164-fallback", false),
];

/// The flags dict for a source's `flags` setting; an unknown flag is an
/// error that lists the known ones.
fn parse_flags(settings: &[String], at: &str) -> Result<Vec<(String, bool)>> {
    let mut flags: Vec<(String, bool)> = FLAG_DEFAULTS
        .iter()
        .map(|(k, v)| ((*k).to_owned(), *v))
        .collect();
    for setting in settings {
        let normalized = setting.replace('_', "-");
        let Some((_, key, value)) = FLAG_SETTINGS.iter().find(|(s, _, _)| *s == normalized) else {
            let known: Vec<&str> = FLAG_SETTINGS.iter().map(|(s, _, _)| *s).collect();
            bail!(
                "{at}: key `flags`: unknown flag {setting:?} (known: {})",
                known.join(", ")
            );
        };
        if let Some(slot) = flags.iter_mut().find(|(k, _)| k == key) {
            slot.1 = *value;
        }
    }
    Ok(flags)
}

impl RawSource {
    /// The checked spec of this source of the config at `config`, with
    /// `policies` for its policy. Its `destinations` are resolved later, by
    /// name.
    pub fn check(&self, policies: &Policies, config: &Path, at: &str) -> Result<SourceSpec> {
        let src = self;
        let name = src.name.as_str();
        let base = config.parent().unwrap_or(Path::new("."));
        let shown = config.display();
        let dotted = src.class.contains('.');
        if !src.class.split('.').all(is_class_name) {
            bail!(
                "{at}: key `class`: {:?} is not a Python class name (or module.Class)",
                src.class
            );
        }
        let mut python_path = Vec::new();
        for (i, dir) in src.python_path.iter().flatten().enumerate() {
            let host = base.join(dir);
            if !host.is_dir() {
                bail!(
                    "{at}: key `python_path` #{}: {} is not a directory",
                    i + 1,
                    host.display()
                );
            }
            python_path.push(host);
        }
        let (filename, code) = match (&src.script, &src.code) {
            (Some(_), Some(_)) => bail!("{at}: keys `script` and `code` exclude each other"),
            (Some(_), None) | (None, Some(_)) if dotted => bail!(
                "{at}: key `class`: a module.Class is imported from `python_path`; \
                 leave out `script` and `code`"
            ),
            (None, None) if dotted => {
                if python_path.is_empty() {
                    bail!(
                        "{at}: key `class`: a module.Class needs `python_path` to find the module in"
                    );
                }
                (String::new(), String::new())
            }
            (None, None) => {
                bail!(
                    "{at}: needs either key `script` (a file) or `code` (inline Python), or a module.Class on `python_path`"
                )
            }
            (Some(script), None) => {
                let full = base.join(script);
                let code = fs::read_to_string(&full).with_context(|| {
                    format!("{at}: key `script`: cannot read {}", full.display())
                })?;
                (full.display().to_string(), code)
            }
            (None, Some(code)) => (format!("<{shown}:source {name}>"), code.clone()),
        };
        let policy = policies.for_source(src.policy.as_ref(), base, at)?;
        let compat_3x = match &src.config_version {
            None => false,
            Some(v) => {
                let major = v.split('.').next().and_then(|m| m.parse::<u32>().ok());
                match major {
                    Some(m) => m < 4,
                    None => {
                        bail!("{at}: key `config_version`: {v:?} is not a version such as \"3.38\"")
                    }
                }
            }
        };
        let flags = parse_flags(src.flags.as_deref().unwrap_or_default(), at)?;
        let time_reopen = units::duration(
            src.time_reopen.unwrap_or(DEFAULT_TIME_REOPEN),
            at,
            "time_reopen",
        )?;
        Ok(SourceSpec {
            name: name.to_owned(),
            filename,
            code,
            class_name: src.class.clone(),
            options: options(&src.options, at)?,
            guest_buffer: src.guest_buffer.unwrap_or(DEFAULT_GUEST_BUFFER),
            policy,
            fetch_no_data_delay: units::duration(
                src.fetch_no_data_delay
                    .unwrap_or(DEFAULT_FETCH_NO_DATA_DELAY),
                at,
                "fetch_no_data_delay",
            )?,
            time_reopen,
            log_iw_size: match src.log_iw_size {
                Some(0) => bail!("{at}: key `log_iw_size`: must be at least 1"),
                Some(n) => n,
                None => DEFAULT_LOG_IW_SIZE,
            },
            flags,
            keep_hostname: src.keep_hostname.unwrap_or(true),
            shard: src.shard,
            // Resolved below, once the destinations are known.
            destinations: None,
            python_path,
            compat_3x,
            restart: {
                let backoff = units::duration(
                    src.restart_backoff.unwrap_or(Duration::from_secs(1)),
                    at,
                    "restart_backoff",
                )?;
                let backoff_max = units::duration(
                    src.restart_backoff_max.unwrap_or(Duration::from_secs(60)),
                    at,
                    "restart_backoff_max",
                )?;
                if backoff_max < backoff {
                    bail!(
                        "{at}: key `restart_backoff_max`: {} is shorter than `restart_backoff` ({})",
                        humantime_serde::re::humantime::format_duration(backoff_max),
                        humantime_serde::re::humantime::format_duration(backoff)
                    );
                }
                RestartPolicy {
                    when: src.restart,
                    backoff,
                    backoff_max,
                    limit: src.restart_limit.unwrap_or(10),
                }
            },
        })
    }
}

/// The options `init()` gets: as in AxoSyslog, a `-` in a key becomes
/// `_`; two keys that then read the same are an error.
fn options(raw: &BTreeMap<String, String>, at: &str) -> Result<Vec<(String, String)>> {
    let mut out: BTreeMap<String, (&str, String)> = BTreeMap::new();
    for (k, v) in raw {
        let key = k.replace('-', "_");
        if let Some((first, _)) = out.insert(key.clone(), (k, v.clone())) {
            bail!("{at}: key `options`: {first:?} and {k:?} are the same option ({key:?})");
        }
    }
    Ok(out.into_iter().map(|(k, (_, v))| (k, v)).collect())
}

/// A Python identifier (ASCII subset), the form AxoSyslog's `class()` takes
/// for a class defined in the source's own code.
fn is_class_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
