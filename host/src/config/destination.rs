//! `[[destination]]`: the tagged table that names a destination's kind;
//! each kind's own keys and checks live next to its writer in
//! [`crate::sinks`].

use std::path::Path;

use anyhow::{Result, bail};
use serde::Deserialize;

use crate::pipeline::render::Format;
use crate::sinks::DestinationSpec;
use crate::sinks::file::{FileSpec, RawFile};
use crate::sinks::kafka::{KafkaSpec, RawKafka};
use crate::sinks::otlp::{OtlpSpec, RawOtlp};
use crate::sinks::stdout::{RawStdout, StdoutSpec};
use crate::sinks::syslog::{RawSyslog, SyslogSpec};

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum RawDestination {
    Stdout(RawStdout),
    File(RawFile),
    Syslog(RawSyslog),
    Kafka(RawKafka),
    Otlp(RawOtlp),
}

impl RawDestination {
    fn name(&self) -> Option<&str> {
        match self {
            RawDestination::Stdout(d) => d.name.as_deref(),
            RawDestination::File(d) => d.name.as_deref(),
            RawDestination::Syslog(d) => d.name.as_deref(),
            RawDestination::Kafka(d) => d.name.as_deref(),
            RawDestination::Otlp(d) => d.name.as_deref(),
        }
    }
}

/// The checked destinations of the file `shown`, with their names (if
/// any) in the same order. Never empty: standard output when the file
/// names no destination.
pub fn check_all(
    raw: Vec<RawDestination>,
    base: &Path,
    shown: &str,
) -> Result<(Vec<DestinationSpec>, Vec<Option<String>>)> {
    let mut destinations = Vec::new();
    let mut names: Vec<Option<String>> = Vec::new();
    for (index, dest) in raw.into_iter().enumerate() {
        let at = format!("{shown}: destination #{}", index + 1);
        let name = dest.name().map(str::to_owned);
        if let Some(n) = &name
            && names.contains(&Some(n.clone()))
        {
            bail!("{at}: key `name`: {n:?} is already the name of another destination");
        }
        names.push(name);
        let spec = match dest {
            RawDestination::Stdout(d) => DestinationSpec::Stdout(StdoutSpec::from_raw(d)),
            RawDestination::File(d) => DestinationSpec::File(FileSpec::from_raw(d, base, &at)?),
            RawDestination::Syslog(d) => {
                DestinationSpec::Syslog(SyslogSpec::from_raw(d, base, &at)?)
            }
            RawDestination::Kafka(d) => DestinationSpec::Kafka(KafkaSpec::from_raw(d, &at)?),
            RawDestination::Otlp(d) => DestinationSpec::Otlp(OtlpSpec::from_raw(d, base, &at)?),
        };
        if destinations.contains(&spec) {
            bail!("{at}: the same destination is listed twice");
        }
        destinations.push(spec);
    }
    if destinations.is_empty() {
        destinations.push(DestinationSpec::Stdout(StdoutSpec {
            format: Format::Json,
        }));
    }
    Ok((destinations, names))
}
