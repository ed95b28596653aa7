//! The network grant of a sandbox: allow-list patterns (`ADDRESS:PORT`)
//! and the check wasi:sockets runs on the resolved address of every bind,
//! listen, connect and send. A name is never checked, only the address it
//! resolved to.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::Arc;

use ipnet::IpNet;

use super::policy::Policy;

impl Policy {
    /// The rule that allows `addr` for binding/listening (`listen`) or for
    /// connecting/sending (`!listen`), if any.
    pub fn allows(&self, addr: SocketAddr, listen: bool) -> Option<&NetPattern> {
        let rules = if listen { &self.listen } else { &self.connect };
        rules.iter().find(|p| p.matches(addr))
    }
}

/// An allow-list entry `ADDRESS:PORT`: ADDRESS is an IP, a CIDR or `*`
/// (IPv6 in brackets), PORT a number, a range `A-B` or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetPattern {
    text: String,
    addr: Option<IpNet>,
    ports: (u16, u16),
}

impl NetPattern {
    pub fn matches(&self, addr: SocketAddr) -> bool {
        let ip = canonical(addr.ip());
        let port = addr.port();
        self.addr.is_none_or(|net| net.contains(&ip))
            && (self.ports.0..=self.ports.1).contains(&port)
    }
}

/// IPv4-mapped IPv6 addresses are checked as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl fmt::Display for NetPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for NetPattern {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (addr, port) = if let Some(rest) = s.strip_prefix('[') {
            let (a, p) = rest
                .split_once("]:")
                .ok_or("IPv6 patterns look like [ADDRESS]:PORT")?;
            (a, p)
        } else {
            s.rsplit_once(':').ok_or("expected ADDRESS:PORT")?
        };
        if !s.starts_with('[') && addr.contains(':') {
            return Err("put IPv6 addresses in brackets, e.g. [::1]:514".into());
        }
        let addr = match addr {
            "*" => None,
            a if a.contains('/') => Some(
                a.parse::<IpNet>()
                    .map_err(|e| format!("bad CIDR {a:?}: {e}"))?
                    .trunc(),
            ),
            a => Some(IpNet::from(canonical(
                a.parse::<IpAddr>()
                    .map_err(|e| format!("bad address {a:?}: {e}"))?,
            ))),
        };
        let num = |p: &str| p.parse::<u16>().map_err(|_| format!("bad port {p:?}"));
        let ports = match port {
            "*" => (0, u16::MAX),
            p if p.contains('-') => {
                let (a, b) = p.split_once('-').ok_or("bad port range")?;
                let (a, b) = (num(a)?, num(b)?);
                if a > b {
                    return Err(format!("empty port range {p:?}"));
                }
                (a, b)
            }
            p => {
                let n = num(p)?;
                (n, n)
            }
        };
        Ok(NetPattern {
            text: s.to_owned(),
            addr,
            ports,
        })
    }
}

/// The check wasmtime-wasi runs before every socket operation.
pub type AddrCheck = Box<
    dyn Fn(
            SocketAddr,
            wasmtime_wasi::sockets::SocketAddrUse,
        ) -> Pin<Box<dyn std::future::Future<Output = bool> + Send + Sync>>
        + Send
        + Sync,
>;

/// The network grant: every bind and listen must match `network.listen`,
/// every connect and send `network.connect`, on the resolved address.
/// Incoming connections and datagrams on a granted socket are let through.
/// A refusal is logged with the source, the address and the rule.
pub fn address_check(source: Arc<str>, policy: Arc<Policy>) -> AddrCheck {
    use wasmtime_wasi::sockets::SocketAddrUse as Use;
    Box::new(move |addr, use_| {
        let (listen, key) = match use_ {
            Use::TcpBind | Use::TcpListen | Use::UdpBind => (true, "network.listen"),
            Use::TcpConnect | Use::UdpSend => (false, "network.connect"),
            Use::TcpAccept | Use::UdpReceive => return Box::pin(async { true }),
        };
        let allowed = match policy.allows(addr, listen) {
            Some(rule) => {
                tracing::trace!(source = %source, address = %addr, operation = ?use_, rule = %rule, "allowed by policy");
                true
            }
            // Binding port 0 is how the OS picks a local port for an
            // outgoing socket (and how libraries such as urllib3 probe for
            // IPv6); what follows is checked: a connect against
            // `network.connect`, a listen against `network.listen` with the
            // port the OS chose.
            None if listen && addr.port() == 0 && !matches!(use_, Use::TcpListen) => true,
            None => {
                tracing::warn!(source = %source, address = %addr, operation = ?use_, "denied by policy: no `{key}` pattern matches");
                false
            }
        };
        Box::pin(async move { allowed })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(s: &str) -> NetPattern {
        s.parse().unwrap()
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn patterns_match_addresses_ports_and_ranges() {
        assert!(pat("127.0.0.1:5514").matches(addr("127.0.0.1:5514")));
        assert!(!pat("127.0.0.1:5514").matches(addr("127.0.0.1:5515")));
        assert!(pat("10.0.0.0/8:*").matches(addr("10.2.3.4:1")));
        assert!(!pat("10.0.0.0/8:*").matches(addr("11.0.0.1:1")));
        assert!(pat("*:1024-65535").matches(addr("192.0.2.1:2000")));
        assert!(!pat("*:1024-65535").matches(addr("192.0.2.1:80")));
        assert!(pat("[::1]:514").matches(addr("[::1]:514")));
        assert!(pat("[fd00::/8]:*").matches(addr("[fd12::1]:9")));
        assert!(pat("127.0.0.1:*").matches(addr("[::ffff:127.0.0.1]:80")));
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in [
            "127.0.0.1",
            "::1:514",
            "[::1]514",
            "1.2.3.4:99999",
            "1.2.3.4:9-1",
            "host:80",
            "1.2.3.0/33:1",
        ] {
            assert!(bad.parse::<NetPattern>().is_err(), "{bad}");
        }
    }
}
