//! How many bytes written to a TCP connection its peer has acknowledged,
//! as the kernel counts them (`TCP_INFO`, `tcpi_bytes_acked`, Linux 4.1
//! and later).
//!
//! The send queue (`SIOCOUTQ`) would give the same figure while the
//! connection lives, but a reset from the peer empties it at once; the
//! acked count survives the reset, so it can still be read after the
//! write that failed, which is when the syslog writer needs it.

use std::io;
use std::os::fd::RawFd;

/// The head of Linux's `struct tcp_info` (`linux/tcp.h`), through
/// `tcpi_bytes_acked`; the kernel copies no more than the length asked
/// for, and says how much it filled.
#[repr(C)]
#[derive(Default)]
struct TcpInfoHead {
    /// `tcpi_state` .. the bit fields: eight single bytes.
    _bytes: [u8; 8],
    /// `tcpi_rto` .. `tcpi_total_retrans`.
    _words: [u32; 24],
    _pacing_rate: u64,
    _max_pacing_rate: u64,
    bytes_acked: u64,
}

/// Bytes of data the peer has acknowledged on a connection this side
/// opened (`connect`), from its first byte of data on: the kernel's count
/// includes the SYN, which is not data. Readable after the connection was
/// reset, as long as the socket is open.
pub fn data_bytes_acked(fd: RawFd) -> io::Result<u64> {
    let mut info = TcpInfoHead::default();
    let want = std::mem::size_of::<TcpInfoHead>();
    let mut len = want as libc::socklen_t;
    // SAFETY: `info` is a plain struct of integers, writable for `len`
    // bytes, and `len` is a valid socklen_t the kernel updates; a bad fd
    // is an error return, not undefined behaviour.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            std::ptr::from_mut(&mut info).cast(),
            &mut len,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    if (len as usize) < want {
        return Err(io::Error::other(
            "the kernel's TCP_INFO has no tcpi_bytes_acked (Linux 4.1 or later)",
        ));
    }
    Ok(info.bytes_acked.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::os::fd::AsRawFd;
    use std::time::{Duration, Instant};

    fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        (c, s)
    }

    /// Waits for the peer's acks to come back (loopback: at once, but not
    /// within the write call).
    fn acked_reaches(c: &TcpStream, n: u64) -> u64 {
        let started = Instant::now();
        loop {
            let a = data_bytes_acked(c.as_raw_fd()).unwrap();
            if a >= n || started.elapsed() > Duration::from_secs(5) {
                return a;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn counts_the_data_the_peer_acknowledged() {
        let (mut c, mut s) = pair();
        assert_eq!(data_bytes_acked(c.as_raw_fd()).unwrap(), 0);
        c.write_all(&[7u8; 10_000]).unwrap();
        let mut got = vec![0u8; 10_000];
        s.read_exact(&mut got).unwrap();
        assert_eq!(acked_reaches(&c, 10_000), 10_000);
    }

    #[test]
    fn stops_where_a_peer_that_reads_nothing_fills_its_buffer_and_survives_a_reset() {
        let (c, s) = pair();
        // A small receive buffer at the peer, never read: the peer acks
        // what fits and then advertises a zero window.
        socket2::SockRef::from(&s)
            .set_recv_buffer_size(4096)
            .unwrap();
        c.set_nonblocking(true).unwrap();
        let mut written = 0u64;
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(2) {
            match (&c).write(&[1u8; 65_536]) {
                Ok(n) => written += n as u64,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(e) => panic!("{e}"),
            }
        }
        let acked = data_bytes_acked(c.as_raw_fd()).unwrap();
        assert!(acked > 0 && acked < written, "acked {acked} of {written}");
        // Closing with unread data resets the connection; the count stays.
        drop(s);
        let started = Instant::now();
        while (&c).write(&[1u8; 1]).is_ok() && started.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(data_bytes_acked(c.as_raw_fd()).unwrap(), acked);
    }
}
