//! The TOML configuration: raw serde structs that reject unknown keys, then
//! one validation step that produces the checked [`Config`]. Every error
//! names the file, the source and the key.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::policy::{Policy, RawPolicy};
use crate::render::{Encoding, Format, Framing};

/// How many messages a guest buffers before handing them to the host, by
/// default.
pub const DEFAULT_GUEST_BUFFER: u32 = 256;

/// syslog-ng's default `time-reopen()`.
pub const DEFAULT_TIME_REOPEN: Duration = Duration::from_secs(60);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    state_dir: Option<PathBuf>,
    metrics: Option<RawMetrics>,
    #[serde(default)]
    policy: BTreeMap<String, RawPolicy>,
    #[serde(default, rename = "source")]
    sources: Vec<RawSource>,
    #[serde(default, rename = "destination")]
    destinations: Vec<RawDestination>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMetrics {
    listen: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSource {
    name: String,
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
    destinations: Option<Vec<String>>,
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
enum PolicyRef {
    Name(String),
    Inline(RawPolicy),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "type", rename_all = "lowercase")]
enum RawDestination {
    Stdout {
        name: Option<String>,
        format: Option<Format>,
    },
    File {
        name: Option<String>,
        path: PathBuf,
        format: Option<Format>,
        #[serde(default)]
        fsync: Fsync,
    },
    Syslog {
        name: Option<String>,
        transport: Transport,
        address: Option<String>,
        path: Option<PathBuf>,
        format: Option<Format>,
        #[serde(default, with = "humantime_serde")]
        shutdown_timeout: Option<Duration>,
    },
}

/// When a file destination syncs what it wrote to disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fsync {
    /// Never explicitly: the operating system writes back when it likes.
    #[default]
    Never,
    /// After every burst of writes (whenever the queue runs dry).
    Always,
}

/// How a syslog destination is reached, as written in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Tcp,
    Udp,
    Unix,
}

/// A syslog receiver.
#[derive(Debug, Clone, PartialEq)]
pub enum SyslogTarget {
    /// RFC 6587 octet counting over TCP.
    Tcp(SocketAddr),
    /// One datagram per message; lossy by nature.
    Udp(SocketAddr),
    /// RFC 6587 octet counting over a Unix stream socket.
    Unix(PathBuf),
}

impl std::fmt::Display for SyslogTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyslogTarget::Tcp(a) => write!(f, "tcp {a}"),
            SyslogTarget::Udp(a) => write!(f, "udp {a}"),
            SyslogTarget::Unix(p) => write!(f, "unix {}", p.display()),
        }
    }
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
    /// Where the Prometheus metrics are served. Default: nowhere.
    pub metrics_listen: Option<SocketAddr>,
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
    /// `time_reopen`, as in syslog-ng.
    pub fetch_no_data_delay: Duration,
    /// Fetchers: the wait before open() is tried again after it failed or
    /// the fetcher disconnected. Default: 60 s, as in syslog-ng.
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
}

/// The default window of a source (log-iw-size).
pub const DEFAULT_LOG_IW_SIZE: u32 = 10_000;

/// The flags of a source as `self.flags` shows them, with AxoSyslog's
/// defaults, and the `flags` settings that change them.
const FLAG_DEFAULTS: [(&str, bool); 13] = [
    ("parse", true),
    ("check-hostname", false),
    ("syslog-protocol", false),
    ("assume-utf8", false),
    ("validate-utf8", false),
    ("sanitize-utf8", false),
    ("multi-line", true),
    // On for config versions below 4.0 (see parse_flags).
    ("store-legacy-msghdr", false),
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
fn parse_flags(settings: &[String], compat_3x: bool, at: &str) -> Result<Vec<(String, bool)>> {
    let mut flags: Vec<(String, bool)> = FLAG_DEFAULTS
        .iter()
        .map(|(k, v)| {
            (
                (*k).to_owned(),
                *v || (compat_3x && *k == "store-legacy-msghdr"),
            )
        })
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

/// Where messages go, and in which format.
#[derive(Debug, Clone, PartialEq)]
pub enum DestinationSpec {
    /// Lines on standard output (JSON by default).
    Stdout { format: Format },
    /// Lines appended to a file (JSON by default).
    File {
        path: PathBuf,
        format: Format,
        fsync: Fsync,
    },
    /// A syslog receiver (RFC 5424 by default).
    Syslog {
        target: SyslogTarget,
        format: Format,
        /// How long, once sandlog is stopping, it keeps trying to deliver
        /// to a receiver that is down before it gives up and reports what
        /// it could not deliver. Default: 30 s.
        shutdown_timeout: Duration,
    },
}

impl DestinationSpec {
    /// How this destination's messages are written.
    pub fn encoding(&self) -> Encoding {
        match self {
            DestinationSpec::Stdout { format } | DestinationSpec::File { format, .. } => Encoding {
                format: *format,
                framing: Framing::Newline,
            },
            DestinationSpec::Syslog { format, .. } => Encoding {
                format: *format,
                framing: Framing::OctetCounted,
            },
        }
    }

    /// A name for logs and errors.
    pub fn describe(&self) -> String {
        match self {
            DestinationSpec::Stdout { .. } => "stdout".into(),
            DestinationSpec::File { path, .. } => path.display().to_string(),
            DestinationSpec::Syslog { target, .. } => format!("syslog {target}"),
        }
    }
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
        let shown = path.display();

        // Built-in defaults, then [policy.default], then the named policy,
        // then a source's inline fields. Every named policy is checked even
        // when no source uses it.
        let mut default_policy = Policy::default();
        if let Some(raw) = raw.policy.get("default") {
            if raw.base.is_some() {
                bail!("{shown}: policy \"default\": key `base` is only for inline policies");
            }
            default_policy.layer(raw, base, &format!("{shown}: policy \"default\""))?;
        }
        let mut policies: HashMap<&str, Policy> = HashMap::new();
        for (name, raw) in &raw.policy {
            let at = format!("{shown}: policy {name:?}");
            if raw.base.is_some() {
                bail!("{at}: key `base` is only for inline policies on a source");
            }
            let mut p = default_policy.clone();
            p.layer(raw, base, &at)?;
            policies.insert(name, p);
        }

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
            let policy = match &src.policy {
                None => default_policy.clone(),
                Some(PolicyRef::Name(p)) => policies
                    .get(p.as_str())
                    .cloned()
                    .with_context(|| format!("{at}: key `policy`: no [policy.{p}] in the file"))?,
                Some(PolicyRef::Inline(raw)) => {
                    let mut p = match &raw.base {
                        None => default_policy.clone(),
                        Some(b) => policies.get(b.as_str()).cloned().with_context(|| {
                            format!("{at}: key `policy.base`: no [policy.{b}] in the file")
                        })?,
                    };
                    p.layer(raw, base, &format!("{at}: key `policy`"))?;
                    p
                }
            };
            let compat_3x = match &src.config_version {
                None => false,
                Some(v) => {
                    let major = v.split('.').next().and_then(|m| m.parse::<u32>().ok());
                    match major {
                        Some(m) => m < 4,
                        None => bail!(
                            "{at}: key `config_version`: {v:?} is not a version such as \"3.38\""
                        ),
                    }
                }
            };
            let flags = parse_flags(src.flags.as_deref().unwrap_or_default(), compat_3x, &at)?;
            sources.push(SourceSpec {
                name: name.to_owned(),
                filename,
                code,
                class_name: src.class.clone(),
                options: src
                    .options
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                guest_buffer: src.guest_buffer.unwrap_or(DEFAULT_GUEST_BUFFER),
                policy,
                // As in syslog-ng, the no-data delay defaults to time_reopen.
                fetch_no_data_delay: src
                    .fetch_no_data_delay
                    .or(src.time_reopen)
                    .unwrap_or(DEFAULT_TIME_REOPEN),
                time_reopen: src.time_reopen.unwrap_or(DEFAULT_TIME_REOPEN),
                log_iw_size: match src.log_iw_size {
                    Some(0) => bail!("{at}: key `log_iw_size`: must be at least 1"),
                    Some(n) => n,
                    None => DEFAULT_LOG_IW_SIZE,
                },
                flags,
                keep_hostname: src.keep_hostname.unwrap_or(true),
                // Resolved below, once the destinations are known.
                destinations: None,
                python_path,
                compat_3x,
                restart: {
                    let backoff = src.restart_backoff.unwrap_or(Duration::from_secs(1));
                    let backoff_max = src.restart_backoff_max.unwrap_or(Duration::from_secs(60));
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
            });
        }

        let mut destinations = Vec::new();
        let mut destination_names: Vec<Option<String>> = Vec::new();
        for (index, dest) in raw.destinations.into_iter().enumerate() {
            let at = format!("{shown}: destination #{}", index + 1);
            let name = match &dest {
                RawDestination::Stdout { name, .. }
                | RawDestination::File { name, .. }
                | RawDestination::Syslog { name, .. } => name.clone(),
            };
            if let Some(n) = &name
                && destination_names.contains(&Some(n.clone()))
            {
                bail!("{at}: key `name`: {n:?} is already the name of another destination");
            }
            destination_names.push(name);
            let spec = match dest {
                RawDestination::Stdout { format, .. } => DestinationSpec::Stdout {
                    format: format.unwrap_or(Format::Json),
                },
                RawDestination::File {
                    path: p,
                    format,
                    fsync,
                    ..
                } => {
                    if p.as_os_str().is_empty() {
                        bail!("{at}: key `path` must not be empty");
                    }
                    DestinationSpec::File {
                        path: base.join(p),
                        format: format.unwrap_or(Format::Json),
                        fsync,
                    }
                }
                RawDestination::Syslog {
                    transport,
                    address,
                    path: socket_path,
                    format,
                    shutdown_timeout,
                    ..
                } => {
                    let ip = |address: Option<String>| -> Result<SocketAddr> {
                        let Some(address) = address else {
                            bail!("{at}: transport {transport:?} needs key `address` (IP:PORT)");
                        };
                        address.parse::<SocketAddr>().with_context(|| {
                            format!(
                                "{at}: key `address`: {address:?} is not IP:PORT (IPv6 in brackets)"
                            )
                        })
                    };
                    let target = match (transport, socket_path) {
                        (Transport::Tcp, None) => SyslogTarget::Tcp(ip(address)?),
                        (Transport::Udp, None) => SyslogTarget::Udp(ip(address)?),
                        (Transport::Unix, Some(p)) if address.is_none() => {
                            SyslogTarget::Unix(base.join(p))
                        }
                        (Transport::Unix, _) => {
                            bail!("{at}: transport \"unix\" needs key `path` (and no `address`)")
                        }
                        (_, Some(_)) => bail!("{at}: key `path` is only for transport \"unix\""),
                    };
                    DestinationSpec::Syslog {
                        target,
                        format: format.unwrap_or(Format::Rfc5424),
                        shutdown_timeout: shutdown_timeout.unwrap_or(Duration::from_secs(30)),
                    }
                }
            };
            if destinations.contains(&spec) {
                bail!(
                    "{shown}: destination #{}: the same destination is listed twice",
                    index + 1
                );
            }
            destinations.push(spec);
        }
        if destinations.is_empty() {
            destinations.push(DestinationSpec::Stdout {
                format: Format::Json,
            });
        }

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
        let metrics_listen = match &raw.metrics {
            None => None,
            Some(m) => Some(m.listen.parse::<SocketAddr>().with_context(|| {
                format!(
                    "{shown}: [metrics]: key `listen`: {:?} is not IP:PORT",
                    m.listen
                )
            })?),
        };
        Ok(Config {
            path: path.to_owned(),
            sources,
            destinations,
            state_dir,
            metrics_listen,
        })
    }
}

/// A Python identifier (ASCII subset), the form AxoSyslog's `class()` takes
/// for a class defined in the source's own code.
fn is_class_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
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
            vec![DestinationSpec::Stdout {
                format: Format::Json
            }]
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
