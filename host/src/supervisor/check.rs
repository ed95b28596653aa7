//! `sandlog check`: every source loaded in its own sandbox under its
//! policy, as `run` would load it (its code compiled, its module level
//! run, its class found and checked), without init() or run(), each
//! bounded by its exit grace.

use std::sync::Arc;

use anyhow::Result;

use super::lifecycle::{sandbox_spec, setup};
use crate::config::{Config, SourceSpec};
use crate::engine::Runtime;
use crate::guest_api::{Control, GuestApi};
use crate::metrics::SourceMetrics;
use crate::pipeline::delivery::Delivery;
use crate::pipeline::queue::Sinks;
use crate::pipeline::render::SourceFields;
use crate::sandbox::Sandboxes;

/// Returns each source's name and what is wrong with it, if anything.
pub async fn check(config: &Config, runtime: Arc<Runtime>) -> Vec<(String, Option<String>)> {
    let sandboxes = match Sandboxes::new(&runtime) {
        Ok(s) => s,
        Err(e) => return vec![("(guest)".into(), Some(format!("{e:#}")))],
    };
    let mut results = Vec::new();
    for spec in &config.sources {
        let problem = check_one(spec, &sandboxes)
            .await
            .err()
            .map(|e| format!("{e:#}"));
        results.push((spec.name.clone(), problem));
    }
    results
}

async fn check_one(spec: &SourceSpec, sandboxes: &Sandboxes) -> Result<()> {
    let metrics = Arc::new(SourceMetrics::default());
    let name: Arc<str> = Arc::from(spec.name.as_str());
    let delivery = Delivery::new(
        name.clone(),
        SourceFields::new(&spec.name, "check"),
        Sinks::default(),
        metrics.clone(),
    );
    let api = GuestApi::new(
        name,
        Arc::new(Control::default()),
        delivery,
        spec.policy.max_message_size,
    );
    let mut store = sandboxes.new_store(&sandbox_spec(spec), api, None, metrics)?;
    let guest = sandboxes.instantiate(&mut store).await?;
    let setup = setup(spec);
    let call = guest.sandlog_guest_source().call_load(&mut store, &setup);
    match tokio::time::timeout(spec.policy.exit_grace, call).await {
        Ok(Ok(Ok(()))) => Ok(()),
        // The traceback ends with the exception; for a SyntaxError it shows
        // the file, the line and a caret.
        Ok(Ok(Err(f))) if !f.traceback.is_empty() => anyhow::bail!("{}", f.traceback),
        Ok(Ok(Err(f))) => anyhow::bail!("{}: {}", f.kind, f.message),
        Ok(Err(trap)) => anyhow::bail!("the guest trapped while loading: {trap:#}"),
        Err(_) => anyhow::bail!(
            "loading did not finish within the exit grace ({:?})",
            spec.policy.exit_grace
        ),
    }
}
