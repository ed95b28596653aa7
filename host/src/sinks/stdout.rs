//! Lines on standard output (JSON by default): the destination of a
//! config that names none.

use serde::Deserialize;
use tokio::io::{AsyncWrite, AsyncWriteExt, BufWriter};

use super::Burst;
use crate::pipeline::queue::Queue;
use crate::pipeline::render::Format;

/// `[[destination]] type = "stdout"` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStdout {
    pub name: Option<String>,
    pub format: Option<Format>,
}

/// A checked stdout destination.
#[derive(Debug, Clone, PartialEq)]
pub struct StdoutSpec {
    /// Default: JSON.
    pub format: Format,
}

impl StdoutSpec {
    pub fn from_raw(raw: RawStdout) -> StdoutSpec {
        StdoutSpec {
            format: raw.format.unwrap_or(Format::Json),
        }
    }
}

/// Writes chunks to a stream as they come, flushing after each burst.
pub struct StreamWriter<W> {
    queue: Queue,
    out: BufWriter<W>,
    burst: Burst,
}

impl<W: AsyncWrite + Unpin> StreamWriter<W> {
    pub fn new(queue: Queue, out: W) -> Self {
        Self {
            queue,
            out: BufWriter::with_capacity(256 * 1024, out),
            burst: Burst::default(),
        }
    }

    /// Writes until the queue closes; returns the messages written.
    pub async fn run(mut self) -> anyhow::Result<u64> {
        let mut lines = 0u64;
        while let Some(chunk) = self.queue.recv().await {
            let n = self
                .burst
                .write(&mut self.out, &mut self.queue, chunk)
                .await?;
            self.burst.ack();
            self.queue.sent(n);
            lines += n;
        }
        self.out.flush().await?;
        Ok(lines)
    }
}
