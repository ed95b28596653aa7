//! Lines appended to a file (JSON by default), reopened when the file is
//! rotated away, synced after each burst with `fsync = "always"`.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufWriter};

use super::Burst;
use crate::pipeline::queue::Queue;
use crate::pipeline::render::Format;

/// `[[destination]] type = "file"` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    pub name: Option<String>,
    pub path: PathBuf,
    pub format: Option<Format>,
    #[serde(default)]
    pub fsync: Fsync,
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

/// A checked file destination.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSpec {
    /// Relative paths are resolved against the config file's directory.
    pub path: PathBuf,
    /// Default: JSON.
    pub format: Format,
    pub fsync: Fsync,
}

impl FileSpec {
    pub fn from_raw(raw: RawFile, base: &Path, at: &str) -> Result<FileSpec> {
        if raw.path.as_os_str().is_empty() {
            bail!("{at}: key `path` must not be empty");
        }
        Ok(FileSpec {
            path: base.join(raw.path),
            format: raw.format.unwrap_or(Format::Json),
            fsync: raw.fsync,
        })
    }
}

/// Appends chunks to a file. After each burst of writes it syncs (with
/// `Fsync::Always`) and checks that the path still names the file it has
/// open: when the file was renamed or removed (rotated away), it opens the
/// path again, creating a new file, so writing goes on there.
pub struct FileWriter {
    queue: Queue,
    path: PathBuf,
    fsync: Fsync,
    out: BufWriter<tokio::fs::File>,
    inode: Option<u64>,
    burst: Burst,
}

impl FileWriter {
    /// Opens the file; an error here stops sandlog before any source runs.
    pub async fn open(queue: Queue, spec: &FileSpec) -> Result<FileWriter> {
        let file = open_append(&spec.path).await?;
        let inode = file.metadata().await.map(|m| m.ino()).ok();
        Ok(FileWriter {
            queue,
            path: spec.path.clone(),
            fsync: spec.fsync,
            out: BufWriter::with_capacity(256 * 1024, file),
            inode,
            burst: Burst::default(),
        })
    }

    /// Writes until the queue closes; returns the messages written.
    pub async fn run(mut self) -> Result<u64> {
        let mut lines = 0u64;
        while let Some(chunk) = self.queue.recv().await {
            let n = self
                .burst
                .write(&mut self.out, &mut self.queue, chunk)
                .await?;
            self.queue.sent(n);
            lines += n;
            self.sync().await?;
            self.burst.ack();
            self.follow_rotation().await?;
        }
        self.out.flush().await?;
        self.sync().await?;
        Ok(lines)
    }

    async fn sync(&mut self) -> Result<()> {
        if self.fsync == Fsync::Always {
            self.out.get_ref().sync_data().await?;
        }
        Ok(())
    }

    /// Opens the path again when it no longer names the open file.
    async fn follow_rotation(&mut self) -> Result<()> {
        let current = tokio::fs::metadata(&self.path).await.map(|m| m.ino()).ok();
        if current.is_none() || current != self.inode {
            tracing::info!(path = %self.path.display(), "file was rotated away; opening it again");
            let file = open_append(&self.path).await?;
            self.inode = file.metadata().await.map(|m| m.ino()).ok();
            self.out = BufWriter::with_capacity(256 * 1024, file);
        }
        Ok(())
    }
}

/// Opens a destination file for appending. A file that ends in the middle
/// of a line (a writer was killed while writing) gets a line break first,
/// so that the cut line stays alone and the next message is a whole line.
async fn open_append(path: &Path) -> Result<tokio::fs::File> {
    let context = || format!("cannot open destination file {}", path.display());
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .read(true)
        .append(true)
        .open(path)
        .await
        .with_context(context)?;
    let len = file.metadata().await.with_context(context)?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        file.seek(std::io::SeekFrom::Start(len - 1))
            .await
            .with_context(context)?;
        file.read_exact(&mut last).await.with_context(context)?;
        if last[0] != b'\n' {
            tracing::warn!(path = %path.display(), "the file ends in the middle of a line; starting a new one");
            file.write_all(b"\n").await.with_context(context)?;
        }
    }
    Ok(file)
}
