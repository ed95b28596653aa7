//! Destinations: each runs as its own task behind a bounded queue of
//! rendered chunks. A full queue suspends the posting guest (the send is
//! awaited inside the host call), so a slow destination slows its sources
//! instead of losing messages or growing without bound.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::DestinationSpec;

/// Rendered lines, shared by every destination they go to.
pub struct Chunk {
    pub text: String,
    pub lines: u64,
}

/// How many chunks may wait for one destination.
const QUEUE_CHUNKS: usize = 64;

/// The sending side of every destination; cloned into each source.
#[derive(Clone)]
pub struct Sinks {
    queues: Vec<mpsc::Sender<Arc<Chunk>>>,
}

impl Sinks {
    /// Hands a chunk to every destination, waiting while a queue is full.
    /// Returns false when a destination has failed and takes no more.
    pub async fn send(&self, text: String, lines: u64) -> bool {
        let chunk = Arc::new(Chunk { text, lines });
        let mut ok = true;
        for q in &self.queues {
            ok &= q.send(chunk.clone()).await.is_ok();
        }
        ok
    }
}

/// The running destinations, to be drained at shutdown.
pub struct SinkSet {
    pub sinks: Sinks,
    tasks: Vec<(String, JoinHandle<Result<u64>>)>,
}

impl SinkSet {
    /// Opens every destination and starts its writer task.
    pub async fn start(specs: &[DestinationSpec]) -> Result<SinkSet> {
        let mut queues = Vec::new();
        let mut tasks = Vec::new();
        for spec in specs {
            let (tx, rx) = mpsc::channel(QUEUE_CHUNKS);
            let (name, task) = match spec {
                DestinationSpec::Stdout => (
                    "stdout".to_owned(),
                    tokio::spawn(write_all(rx, Box::new(tokio::io::stdout()))),
                ),
                DestinationSpec::File { path } => {
                    let file = open_append(path).await?;
                    (
                        path.display().to_string(),
                        tokio::spawn(write_all(rx, Box::new(file))),
                    )
                }
            };
            queues.push(tx);
            tasks.push((name, task));
        }
        Ok(SinkSet {
            sinks: Sinks { queues },
            tasks,
        })
    }

    /// Closes the queues and waits until every destination has written and
    /// flushed what it was given. Returns the lines written per destination.
    pub async fn finish(self) -> Result<Vec<(String, u64)>> {
        drop(self.sinks);
        let mut written = Vec::new();
        for (name, task) in self.tasks {
            let lines = task
                .await
                .with_context(|| format!("destination {name} stopped abnormally"))?
                .with_context(|| format!("destination {name}"))?;
            written.push((name, lines));
        }
        Ok(written)
    }
}

async fn open_append(path: &PathBuf) -> Result<tokio::fs::File> {
    tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await
        .with_context(|| format!("cannot open destination file {}", path.display()))
}

/// Writes chunks as they come; flushes whenever the queue runs dry, so that
/// lines reach the destination promptly without a flush per message.
async fn write_all(
    mut rx: mpsc::Receiver<Arc<Chunk>>,
    out: Box<dyn AsyncWrite + Send + Unpin>,
) -> Result<u64> {
    let mut out = BufWriter::with_capacity(256 * 1024, out);
    let mut lines = 0u64;
    while let Some(chunk) = rx.recv().await {
        lines += chunk.lines;
        out.write_all(chunk.text.as_bytes()).await?;
        while let Ok(chunk) = rx.try_recv() {
            lines += chunk.lines;
            out.write_all(chunk.text.as_bytes()).await?;
        }
        out.flush().await?;
    }
    out.flush().await?;
    Ok(lines)
}
