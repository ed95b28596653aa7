//! The guest's raw standard output and error (what bypasses Python's
//! `sys.stdout`, such as interpreter fatal errors), turned into host log
//! lines tagged with the source. Nothing a guest writes reaches the host's
//! own stdio.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;

use crate::guest_api::gate::{LogBudget, MAX_LOG_LINE, clip};

/// A guest stream (its raw stdout or stderr) that becomes host log lines.
pub struct LogLines {
    source: Arc<str>,
    stream: &'static str,
    partial: Vec<u8>,
    budget: Arc<LogBudget>,
}

impl LogLines {
    pub fn new(source: Arc<str>, stream: &'static str, budget: Arc<LogBudget>) -> Self {
        Self {
            source,
            stream,
            partial: Vec::new(),
            budget,
        }
    }

    fn emit(&self, line: &[u8]) {
        if !tracing::enabled!(tracing::Level::WARN) || !self.budget.admit() {
            return;
        }
        let text = String::from_utf8_lossy(line);
        tracing::warn!(source = %self.source, stream = self.stream, "{}", clip(&text));
    }
}

impl AsyncWrite for LogLines {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = &mut *self;
        this.partial.extend_from_slice(buf);
        while let Some(pos) = this.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = this.partial.drain(..=pos).collect();
            this.emit(&line[..line.len() - 1]);
        }
        if this.partial.len() > MAX_LOG_LINE {
            let line = std::mem::take(&mut this.partial);
            this.emit(&line);
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let line = std::mem::take(&mut self.partial);
        if !line.is_empty() {
            self.emit(&line);
        }
        Poll::Ready(Ok(()))
    }
}
