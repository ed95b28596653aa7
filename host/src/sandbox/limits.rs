//! The bounds wasmtime enforces on one store: linear memory, tables,
//! instances (a `StoreLimits`), wrapped so that every permitted memory
//! growth also reaches the source's metrics.

use std::sync::Arc;

use wasmtime::StoreLimits;

use crate::metrics::SourceMetrics;

/// The store's limits, which also report the guest's memory to the
/// source's metrics.
pub struct Limits {
    inner: StoreLimits,
    metrics: Arc<SourceMetrics>,
}

impl Limits {
    pub fn new(inner: StoreLimits, metrics: Arc<SourceMetrics>) -> Self {
        Self { inner, metrics }
    }
}

impl wasmtime::ResourceLimiter for Limits {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.memory_growing(current, desired, maximum)?;
        if allowed {
            self.metrics
                .memory_grew(desired.saturating_sub(current) as u64);
        }
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.inner.table_growing(current, desired, maximum)?;
        if !allowed {
            tracing::warn!(
                current,
                desired,
                "a table would grow past `max_table_elements`"
            );
        }
        Ok(allowed)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }

    fn tables(&self) -> usize {
        self.inner.tables()
    }

    fn memories(&self) -> usize {
        self.inner.memories()
    }
}
