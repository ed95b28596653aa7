//! Syslog over UDP: one datagram per message (the octet counting of the
//! rendered chunk stripped). UDP gives no delivery guarantee; send errors
//! are logged and counted, not retried.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use tokio::net::UdpSocket;

use crate::pipeline::queue::Queue;

pub struct UdpWriter {
    queue: Queue,
    address: SocketAddr,
    socket: UdpSocket,
    sent: u64,
    failed: u64,
}

impl UdpWriter {
    pub async fn bind(queue: Queue, address: SocketAddr) -> Result<UdpWriter> {
        let bind: SocketAddr = if address.is_ipv6() {
            "[::]:0"
        } else {
            "0.0.0.0:0"
        }
        .parse()
        .context("wildcard address")?;
        let socket = UdpSocket::bind(bind)
            .await
            .context("binding a UDP socket")?;
        Ok(UdpWriter {
            queue,
            address,
            socket,
            sent: 0,
            failed: 0,
        })
    }

    /// Sends until the queue closes; returns the datagrams sent.
    pub async fn run(mut self) -> Result<u64> {
        while let Some(chunk) = self.queue.recv().await {
            let mut rest = &chunk.text[..];
            while let Some((msg, after)) = next_frame(rest) {
                self.send(msg).await;
                rest = after;
            }
            // Handed to the network, which is as far as UDP goes.
            chunk.written();
        }
        if self.failed > 0 {
            tracing::warn!(destination = %self.address, failed = self.failed, "UDP datagrams that could not be sent");
        }
        Ok(self.sent)
    }

    async fn send(&mut self, msg: &[u8]) {
        match self.socket.send_to(msg, self.address).await {
            Ok(_) => {
                self.sent += 1;
                self.queue.sent(1);
            }
            Err(e) => {
                if self.failed == 0 {
                    tracing::warn!(destination = %self.address, error = %e, "UDP send failed; UDP drops messages when the receiver is away");
                }
                self.failed += 1;
            }
        }
    }
}

/// The first `LENGTH SP MESSAGE` frame of `rest` and what follows it.
fn next_frame(rest: &[u8]) -> Option<(&[u8], &[u8])> {
    let space = rest.iter().position(|&b| b == b' ')?;
    let len: usize = std::str::from_utf8(&rest[..space])
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let end = space.checked_add(1)?.checked_add(len)?;
    Some((rest.get(space + 1..end)?, &rest[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_taken_apart() {
        let (a, rest) = next_frame(b"3 abc2 de").unwrap();
        assert_eq!(a, b"abc");
        let (b, rest) = next_frame(rest).unwrap();
        assert_eq!((b, rest), (&b"de"[..], &b""[..]));
        assert!(next_frame(b"9 short").is_none());
    }
}
