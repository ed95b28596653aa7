//! Syslog over RELP, the Reliable Event Logging Protocol (rsyslog's
//! `imrelp` receives it): every message is a numbered command that the
//! receiver answers once it has taken it.
//!
//! A chunk counts as written once the receiver has answered every message
//! in it. Messages not yet answered stay here; when the connection fails
//! they are sent again, in order, on the next one, and nothing answered is
//! ever sent again. So a message arrives twice only when the receiver took
//! it and the connection failed before its answer came back, and at most
//! [`WINDOW`] messages are ever unanswered at once.

use std::collections::VecDeque;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use anyhow::{Result, anyhow};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::time::Instant;

use super::{Reconnects, SyslogSpec, SyslogTarget, frame_len};
use crate::pipeline::queue::{Chunk, Queue};

/// How many messages may wait for the receiver's answer.
pub const WINDOW: usize = 1024;

/// The longest answer taken from a receiver; a longer one is a protocol
/// error (a peer cannot make sandlog buffer without bound).
const MAX_FRAME_DATA: usize = 64 * 1024;

/// RELP transaction numbers run from 1 to this, then start again at 1.
const MAX_TXNR: u32 = 999_999_999;

/// How long the opening handshake and the closing one may take.
const HANDSHAKE: Duration = Duration::from_secs(10);

const OFFER: &[u8] = b"relp_version=0\nrelp_software=sandlog\ncommands=syslog";

/// One message sent and not yet answered.
struct InFlight {
    txnr: u32,
    chunk: Arc<Chunk>,
    /// The message's `LENGTH SP MESSAGE` frame in the chunk's text.
    start: usize,
    end: usize,
    /// The last message of its chunk: its answer completes the chunk.
    last: bool,
}

impl InFlight {
    fn frame(&self) -> &[u8] {
        self.chunk
            .text
            .get(self.start..self.end)
            .unwrap_or_default()
    }
}

/// A RELP frame from the receiver.
#[derive(Debug, PartialEq, Eq)]
struct Frame<'a> {
    txnr: u32,
    command: &'a [u8],
    data: &'a [u8],
}

/// The first whole frame of `buf` (`TXNR SP COMMAND SP DATALEN [SP DATA]
/// LF`) and its length; `Ok(None)` while it is not whole.
fn parse_frame(buf: &[u8]) -> Result<Option<(Frame<'_>, usize)>> {
    let mut at = 0;
    let Some((txnr, _)) = next_field(buf, &mut at, "transaction number", 9)? else {
        return Ok(None);
    };
    let Some((command, _)) = next_field(buf, &mut at, "command", 32)? else {
        return Ok(None);
    };
    let Some((len, ended_by)) = next_field(buf, &mut at, "data length", 9)? else {
        return Ok(None);
    };
    let txnr: u32 = ascii_number(txnr).ok_or_else(|| anyhow!("RELP: bad transaction number"))?;
    let len: usize = ascii_number(len).ok_or_else(|| anyhow!("RELP: bad data length"))?;
    if len > MAX_FRAME_DATA {
        return Err(anyhow!("RELP: the receiver sent a frame of {len} bytes"));
    }
    match (len, ended_by) {
        // `DATALEN LF`: a frame without data.
        (0, b'\n') => {
            return Ok(Some((
                Frame {
                    txnr,
                    command,
                    data: &[],
                },
                at,
            )));
        }
        (0, _) | (_, b'\n') => {
            return Err(anyhow!("RELP: a frame's data does not match its length"));
        }
        _ => {}
    }
    let end = at + len;
    match buf.get(end) {
        None => Ok(None),
        Some(b'\n') => Ok(Some((
            Frame {
                txnr,
                command,
                data: &buf[at..end],
            },
            end + 1,
        ))),
        Some(_) => Err(anyhow!("RELP: a frame does not end where its length says")),
    }
}

/// The field of `buf` at `at`, up to a space or LF (which it returns),
/// moving `at` past it; `Ok(None)` while it is not whole.
fn next_field<'a>(
    buf: &'a [u8],
    at: &mut usize,
    what: &str,
    max: usize,
) -> Result<Option<(&'a [u8], u8)>> {
    let rest = buf.get(*at..).unwrap_or_default();
    match rest
        .iter()
        .take(max + 1)
        .position(|&b| b == b' ' || b == b'\n')
    {
        Some(end) => {
            *at += end + 1;
            Ok(Some((&rest[..end], rest[end])))
        }
        None if rest.len() > max => Err(anyhow!("RELP: the receiver sent a malformed {what}")),
        None => Ok(None),
    }
}

fn ascii_number<T: std::str::FromStr>(s: &[u8]) -> Option<T> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// An open RELP session.
struct Session {
    r: OwnedReadHalf,
    w: BufWriter<OwnedWriteHalf>,
    /// What has been read and not yet parsed.
    rbuf: Vec<u8>,
    next_txnr: u32,
}

impl Session {
    fn take_txnr(&mut self) -> u32 {
        let t = self.next_txnr;
        self.next_txnr = if t >= MAX_TXNR { 1 } else { t + 1 };
        t
    }

    async fn write_command(
        &mut self,
        txnr: u32,
        command: &str,
        data: &[u8],
    ) -> std::io::Result<()> {
        let mut head = Vec::with_capacity(32);
        let _ = write!(head, "{txnr} {command} {}", data.len());
        if !data.is_empty() {
            head.push(b' ');
        }
        self.w.write_all(&head).await?;
        self.w.write_all(data).await?;
        self.w.write_all(b"\n").await
    }

    /// Reads until a whole frame is buffered; returns its length in `rbuf`
    /// (parse it again there). Cancel safe: what was read stays in `rbuf`.
    async fn read_frame(&mut self) -> Result<()> {
        loop {
            if parse_frame(&self.rbuf)?.is_some() {
                return Ok(());
            }
            let n = self.r.read_buf(&mut self.rbuf).await?;
            if n == 0 {
                return Err(anyhow!("the receiver closed the connection"));
            }
        }
    }

    /// Drops the first frame of `rbuf`.
    fn consume(&mut self, len: usize) {
        self.rbuf.drain(..len);
    }

    /// Opens a session: the `open` command and the receiver's consent.
    async fn open(address: SocketAddr) -> Result<Session> {
        let stream = TcpStream::connect(address).await?;
        let _ = stream.set_nodelay(true);
        let (r, w) = stream.into_split();
        let mut s = Session {
            r,
            w: BufWriter::with_capacity(256 * 1024, w),
            rbuf: Vec::with_capacity(4096),
            next_txnr: 1,
        };
        let txnr = s.take_txnr();
        s.write_command(txnr, "open", OFFER).await?;
        s.w.flush().await?;
        tokio::time::timeout(HANDSHAKE, s.read_frame())
            .await
            .map_err(|_| anyhow!("the receiver did not answer the RELP open"))??;
        let (frame, len) = parse_frame(&s.rbuf)?.ok_or_else(|| anyhow!("RELP: no frame"))?;
        if frame.txnr != txnr || frame.command != b"rsp" || !frame.data.starts_with(b"200") {
            return Err(anyhow!(
                "the receiver refused the RELP session: {}",
                String::from_utf8_lossy(frame.data)
            ));
        }
        s.consume(len);
        Ok(s)
    }
}

/// Writes chunks to a RELP receiver, each message answered before its
/// chunk counts as written.
pub struct RelpWriter {
    queue: Queue,
    address: SocketAddr,
    target: SyslogTarget,
    shutdown_timeout: Duration,
    session: Option<Session>,
    in_flight: VecDeque<InFlight>,
    written: u64,
    reconnects: Reconnects,
    deadline: Option<Instant>,
}

impl RelpWriter {
    pub fn new(queue: Queue, spec: &SyslogSpec, address: SocketAddr) -> RelpWriter {
        RelpWriter {
            queue,
            address,
            target: spec.target.clone(),
            shutdown_timeout: spec.shutdown_timeout,
            session: None,
            in_flight: VecDeque::with_capacity(WINDOW),
            written: 0,
            reconnects: Reconnects::new(),
            deadline: None,
        }
    }

    /// Sends until the queue closes and every message is answered; returns
    /// the messages the receiver took.
    pub async fn run(mut self) -> Result<u64> {
        let mut queue_open = true;
        loop {
            if !queue_open && self.in_flight.is_empty() {
                break;
            }
            if !queue_open && self.deadline.is_none() {
                self.deadline = Some(Instant::now() + self.shutdown_timeout);
            }
            if self.session.is_none() {
                self.connect().await?;
                continue;
            }
            let room = self.in_flight.len() < WINDOW;
            let Some(s) = self.session.as_mut() else {
                continue;
            };
            let deadline = self.deadline;
            tokio::select! {
                biased;
                read = s.read_frame() => {
                    if let Err(e) = read.and_then(|()| self.answered()) {
                        self.lost(&e);
                    }
                }
                chunk = self.queue.recv(), if queue_open && room => match chunk {
                    Some(chunk) => {
                        if let Err(e) = self.send(chunk).await {
                            self.lost(&e);
                        }
                    }
                    None => queue_open = false,
                },
                () = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(d).await,
                        None => std::future::pending().await,
                    }
                } => return Err(self.undelivered()),
            }
        }
        self.close().await;
        self.reconnects.report(&self.target);
        Ok(self.written)
    }

    /// Sends every message of `chunk`, and more chunks while the queue has
    /// them and the window has room, then flushes.
    async fn send(&mut self, chunk: Arc<Chunk>) -> Result<()> {
        let mut next = Some(chunk);
        while let Some(chunk) = next.take() {
            self.send_chunk(chunk).await?;
            if self.in_flight.len() < WINDOW {
                next = self.queue.try_recv().ok();
            }
        }
        if let Some(s) = self.session.as_mut() {
            s.w.flush().await?;
        }
        Ok(())
    }

    async fn send_chunk(&mut self, chunk: Arc<Chunk>) -> Result<()> {
        let Some(s) = self.session.as_mut() else {
            return Err(anyhow!("no session"));
        };
        let text = &chunk.text[..];
        let mut at = 0;
        if text.is_empty() {
            chunk.written();
            return Ok(());
        }
        while at < text.len() {
            let len = frame_len(&text[at..])
                .ok_or_else(|| anyhow!("a rendered chunk is not octet-counted"))?;
            let frame = &text[at..at + len];
            let txnr = s.take_txnr();
            s.write_command(txnr, "syslog", frame_message(frame))
                .await?;
            self.in_flight.push_back(InFlight {
                txnr,
                chunk: chunk.clone(),
                start: at,
                end: at + len,
                last: at + len == text.len(),
            });
            at += len;
        }
        Ok(())
    }

    /// Takes the frame `read_frame` buffered: an answer, or the receiver
    /// closing the session.
    fn answered(&mut self) -> Result<()> {
        let Some(s) = self.session.as_mut() else {
            return Ok(());
        };
        let (frame, len) = parse_frame(&s.rbuf)?.ok_or_else(|| anyhow!("RELP: no frame"))?;
        if frame.command == b"serverclose" {
            return Err(anyhow!("the receiver closed the session"));
        }
        if frame.command != b"rsp" {
            return Err(anyhow!(
                "RELP: unexpected command {:?} from the receiver",
                String::from_utf8_lossy(frame.command)
            ));
        }
        let Some(first) = self.in_flight.front() else {
            return Err(anyhow!("RELP: an answer to nothing sent"));
        };
        if first.txnr != frame.txnr {
            return Err(anyhow!(
                "RELP: the answer to {} came before the one to {}",
                frame.txnr,
                first.txnr
            ));
        }
        if !frame.data.starts_with(b"200") {
            // The receiver will not take this message (too long, say):
            // sending it again would fail again.
            self.queue.metrics().errors.fetch_add(1, Relaxed);
            tracing::error!(destination = %self.target, answer = %String::from_utf8_lossy(frame.data), "the receiver refused a message; it is dropped");
        } else {
            self.written += 1;
            self.queue.sent(1);
        }
        s.consume(len);
        if let Some(done) = self.in_flight.pop_front()
            && done.last
        {
            done.chunk.written();
        }
        Ok(())
    }

    /// The session failed: what is unanswered goes again on the next one.
    fn lost(&mut self, why: &anyhow::Error) {
        tracing::warn!(destination = %self.target, error = %why, unanswered = self.in_flight.len(), "connection lost; reconnecting");
        self.session = None;
    }

    /// One attempt to open a session and send the unanswered messages
    /// again; waits the backoff after a failure. Fails once the shutdown
    /// deadline would pass.
    async fn connect(&mut self) -> Result<()> {
        let opened = match Session::open(self.address).await {
            Ok(s) => {
                self.session = Some(s);
                self.resend().await
            }
            Err(e) => Err(e),
        };
        match opened {
            Ok(resent) => {
                self.reconnects.connected(&self.target, &self.queue, resent);
                Ok(())
            }
            Err(e) => {
                self.session = None;
                if !self
                    .reconnects
                    .failed(&self.target, &e, self.deadline)
                    .await
                {
                    return Err(self.undelivered());
                }
                Ok(())
            }
        }
    }

    /// Sends the unanswered messages on the new session, numbered anew.
    async fn resend(&mut self) -> Result<u64> {
        let Some(s) = self.session.as_mut() else {
            return Ok(0);
        };
        for m in self.in_flight.iter_mut() {
            m.txnr = s.take_txnr();
            s.write_command(m.txnr, "syslog", frame_message(m.frame()))
                .await?;
        }
        s.w.flush().await?;
        Ok(self.in_flight.len() as u64)
    }

    /// Ends the session politely: `close`, and its answer.
    async fn close(&mut self) {
        let Some(mut s) = self.session.take() else {
            return;
        };
        let txnr = s.take_txnr();
        let closed = async {
            s.write_command(txnr, "close", b"").await?;
            s.w.flush().await?;
            s.read_frame().await?;
            let _ = s.w.shutdown().await;
            anyhow::Ok(())
        };
        if let Err(e) = tokio::time::timeout(HANDSHAKE, closed)
            .await
            .map_err(anyhow::Error::from)
            .and_then(|r| r)
        {
            tracing::debug!(destination = %self.target, error = %e, "the receiver did not answer the RELP close");
        }
    }

    /// The error of a receiver that did not take everything before the
    /// shutdown deadline, counting what is unanswered and still queued.
    fn undelivered(&mut self) -> anyhow::Error {
        let mut lost = self.in_flight.len() as u64;
        while let Ok(c) = self.queue.try_recv() {
            lost += c.lines;
        }
        anyhow!(
            "{lost} messages could not be delivered to {}: the receiver did not take them before shutdown_timeout",
            self.target
        )
    }
}

/// The message of a `LENGTH SP MESSAGE` frame.
fn frame_message(frame: &[u8]) -> &[u8] {
    match frame.iter().position(|&b| b == b' ') {
        Some(space) => &frame[space + 1..],
        None => frame,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_parsed_whole_or_not_at_all() {
        let buf = b"2 rsp 6 200 OK\n3 rsp 6 200 OK\n";
        let (f, n) = parse_frame(buf).unwrap().unwrap();
        assert_eq!(
            (f.txnr, f.command, f.data),
            (2, &b"rsp"[..], &b"200 OK"[..])
        );
        assert_eq!(n, 15);
        assert_eq!(parse_frame(&buf[n..]).unwrap().unwrap().0.txnr, 3);
        for cut in 0..15 {
            assert_eq!(parse_frame(&buf[..cut]).unwrap(), None, "cut at {cut}");
        }
        let (f, n) = parse_frame(b"0 serverclose 0\n").unwrap().unwrap();
        assert_eq!(
            (f.txnr, f.command, f.data, n),
            (0, &b"serverclose"[..], &b""[..], 16)
        );
    }

    #[test]
    fn a_hostile_receiver_cannot_make_it_buffer_or_misread() {
        assert!(parse_frame(b"1 rsp 99999999 ").is_err());
        assert!(parse_frame(b"x rsp 6 200 OK\n").is_err());
        assert!(parse_frame(b"1 rsp 2 200 OK\n").is_err());
        assert!(parse_frame(b"12345678901 rsp 0\n").is_err());
        assert!(parse_frame(&[b'1'; 64]).is_err());
    }

    #[test]
    fn the_message_is_sent_without_its_octet_count() {
        assert_eq!(frame_message(b"5 hello"), b"hello");
    }
}
