//! The `sandlog` command.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

use sandlog::config::Config;
use sandlog::config::shard::Shard;
use sandlog::engine::{self, Runtime};
use sandlog::logging::{self, LogFormat};
use sandlog::metrics::{self, Registry};
use sandlog::sandbox::paths;
use sandlog::supervisor::{self, Stop};
use std::sync::Arc;

/// Run AxoSyslog-style Python log sources, each in its own WebAssembly
/// sandbox, and write their messages as JSON lines.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Host log level (a tracing filter such as `info` or `sandlog=debug`);
    /// RUST_LOG overrides it.
    #[arg(long, global = true, default_value = "info")]
    log_level: String,

    /// Host log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    /// Where the compiled guest and the Python standard library are cached
    /// [default: $XDG_CACHE_HOME/sandlog or ~/.cache/sandlog].
    #[arg(long, global = true, value_name = "DIR")]
    cache_dir: Option<PathBuf>,

    /// Where sources keep state across restarts (Persist) [default: the
    /// config's state_dir, else $XDG_STATE_HOME/sandlog or
    /// ~/.local/state/sandlog].
    #[arg(long, global = true, value_name = "DIR")]
    state_dir: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every source of CONFIG until all have finished (with a shard:
    /// until a signal), or until SIGINT or SIGTERM (request_exit, then at
    /// most each source's exit grace; a second signal interrupts at once).
    /// SIGHUP reloads CONFIG.
    #[command(
        after_help = "Messages go to the destinations of CONFIG as JSON lines (stdout when it names none); \
the host log goes to stderr.\n\nExit status: 0 once every source has ended and every message is written; \
1 when the configuration is invalid or no source could start."
    )]
    Run {
        /// The TOML configuration file.
        config: PathBuf,
        /// Run only the sources of shard I of N (0 <= I < N): those that
        /// hashing their names assigns to it, and those pinned to it. Wins
        /// over the config's `shard` key; SIGHUP keeps it.
        #[arg(long, env = "SANDLOG_SHARD", value_name = "I/N")]
        shard: Option<Shard>,
    },
    /// Check CONFIG and every script without running any source: the TOML,
    /// the policies, and for each source its code (syntax errors with file,
    /// line and caret) and its class, loaded in its sandbox as `run` would.
    #[command(after_help = "Exit status: 0 when everything is sound, 1 otherwise.")]
    Check {
        /// The TOML configuration file.
        config: PathBuf,
        /// Check and list only the sources shard I of N runs (see `run`).
        #[arg(long, env = "SANDLOG_SHARD", value_name = "I/N")]
        shard: Option<Shard>,
    },
    /// Compile the guest and unpack the Python standard library into the
    /// cache, so that the first `run` starts at full speed.
    Prepare,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _log = match logging::init(&cli.log_level, cli.log_format) {
        Ok(guard) => guard,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "sandlog: {e:#}");
            return ExitCode::from(2);
        }
    };
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn real_main(cli: Cli) -> Result<ExitCode> {
    let cache_dir = cli.cache_dir.unwrap_or_else(engine::default_cache_dir);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match cli.command {
        Command::Prepare => {
            Runtime::new(&cache_dir)?;
            tracing::info!(cache_dir = %cache_dir.display(), "guest ready");
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { config, shard } => {
            let config = Config::load(&config)?;
            if config.sources.is_empty() {
                anyhow::bail!("{}: no [[source]] is configured", config.path.display());
            }
            let total = config.sources.len();
            let config = config.select_shard(shard)?;
            let runtime = Runtime::new(&cache_dir)?;
            let results = rt.block_on(supervisor::check(&config, runtime));
            let mut bad = 0;
            // A closed stdout (`sandlog check ... | head`) ends the report,
            // not the process with a panic.
            let mut out = std::io::stdout().lock();
            for (name, verdict) in &results {
                let _ = match &verdict.problem {
                    None => writeln!(out, "ok      {name}"),
                    Some(p) => {
                        bad += 1;
                        writeln!(out, "FAILED  {name}: {}", p.replace('\n', "\n        "))
                    }
                };
                for note in &verdict.notes {
                    let _ = writeln!(out, "        note: {note}");
                }
            }
            let _ = match config.shard {
                None => writeln!(
                    out,
                    "{}: {} of {} sources sound",
                    config.path.display(),
                    results.len() - bad,
                    results.len()
                ),
                Some(shard) => writeln!(
                    out,
                    "{}: shard {shard} runs {} of {total} sources, {} sound",
                    config.path.display(),
                    results.len(),
                    results.len() - bad,
                ),
            };
            Ok(if bad == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Run { config, shard } => {
            let config = Config::load(&config)?;
            if config.sources.is_empty() {
                anyhow::bail!("{}: no [[source]] is configured", config.path.display());
            }
            let total = config.sources.len();
            let config = config.select_shard(shard)?;
            log_shard(&config, total);
            let state_dir = cli
                .state_dir
                .or_else(|| config.state_dir.clone())
                .unwrap_or_else(paths::default_state_root);
            rt.block_on(run(config, shard, &cache_dir, &state_dir))
        }
    }
}

/// Says which of the configuration's `total` sources this shard runs.
fn log_shard(config: &Config, total: usize) {
    let Some(shard) = config.shard else { return };
    let sources = config.sources.len();
    if sources == 0 {
        // Nodes are symmetric: this one idles until a reload gives it a
        // source, or until it is stopped.
        tracing::warn!(%shard, of = total, "this shard runs none of the sources; waiting for a reload or a stop");
    } else {
        tracing::info!(%shard, sources, of = total, "this shard runs its share of the sources");
    }
}

/// `I/N`, or `none`.
fn shown(shard: Option<Shard>) -> String {
    shard.map_or_else(|| "none".to_owned(), |s| s.to_string())
}

async fn run(
    config: Config,
    shard_flag: Option<Shard>,
    cache_dir: &std::path::Path,
    state_dir: &std::path::Path,
) -> Result<ExitCode> {
    let (stop_tx, stop_rx) = watch::channel(Stop::Running);
    let mut sigint = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    let mut sigterm = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    tokio::spawn(async move {
        let mut level = Stop::Running;
        loop {
            let name = tokio::select! {
                _ = sigint.recv() => "SIGINT",
                _ = sigterm.recv() => "SIGTERM",
            };
            level = if level == Stop::Running {
                Stop::Graceful
            } else {
                Stop::Immediate
            };
            tracing::info!(
                signal = name,
                "stopping: {}",
                match level {
                    Stop::Graceful => "asking every source to exit",
                    _ => "interrupting every source now",
                }
            );
            if stop_tx.send(level).is_err() || level == Stop::Immediate {
                return;
            }
        }
    });

    // The listener first: /healthz answers, and /readyz says "starting",
    // while the guest is compiled.
    let registry = Arc::new(Registry::default());
    let _metrics = match &config.metrics {
        Some(spec) => Some(metrics::serve(spec, registry.clone()).await?),
        None => None,
    };
    let runtime = tokio::task::block_in_place(|| Runtime::new(cache_dir))?;
    // SIGHUP re-reads the configuration; one that does not load leaves the
    // running sources untouched.
    let (reload_tx, reload_rx) = tokio::sync::mpsc::channel(1);
    let config_path = config.path.clone();
    let shard = config.shard;
    let mut sighup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
    let reloader = tokio::spawn(async move {
        while sighup.recv().await.is_some() {
            tracing::info!(config = %config_path.display(), "SIGHUP: reloading the configuration");
            // The new configuration is cut to the same shard: sources that
            // hash elsewhere now stop here, and those that hash here start.
            let loaded = Config::load(&config_path).and_then(|c| {
                let total = c.sources.len();
                c.select_shard(shard_flag).map(|c| (c, total))
            });
            match loaded {
                Ok((new, _)) if new.shard != shard => tracing::error!(
                    "reload refused: the shard changed from {} to {}; restart sandlog to apply it",
                    shown(shard),
                    shown(new.shard)
                ),
                Ok((new, total)) => {
                    log_shard(&new, total);
                    if reload_tx.send(new).await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    tracing::error!("reload refused, the running sources are untouched: {e:#}")
                }
            }
        }
    });
    let outcome = supervisor::run(&config, runtime, state_dir, registry, stop_rx, reload_rx).await;
    reloader.abort();
    let outcome = outcome?;
    for (dest, lines) in &outcome.written {
        tracing::info!(destination = %dest, lines, "destination closed");
    }
    // A shard that was given no source has done its part.
    let idle_shard = shard.is_some() && outcome.endings.is_empty();
    if !outcome.any_started() && !idle_shard {
        tracing::error!("no source could start");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
