//! Socket errors the guest's C library cannot take.
//!
//! The wasi-libc that componentize-py bundles calls `abort()` when the
//! host returns `invalid-state`, on the theory that its own state checks
//! make that error impossible, and `accept()` aborts on any failure to read
//! the new socket's peer address. But the host also reports an OS
//! `ENOTCONN` as `invalid-state`, and a peer that resets a connection makes
//! the peer address of the socket unreadable. Unmended, any client that
//! connects and resets at once kills a server source: the guest traps in
//! `abort`. Newer wasi-libc no longer aborts here; until the bundled one is
//! newer, two calls are shadowed:
//!
//! - `remote-address` of a socket whose peer is gone gives the unspecified
//!   address of its family (`0.0.0.0:0` or `[::]:0`): `accept()` returns
//!   the socket, `getpeername()` that address, and the next read or write
//!   reports the reset;
//! - `shutdown` of such a socket reports `connection-reset`.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use wasmtime::component::{Linker, Resource};
use wasmtime_wasi::p2::TcpSocket;
use wasmtime_wasi::p2::bindings::sockets::network::{ErrorCode, IpAddressFamily, IpSocketAddress};
use wasmtime_wasi::p2::bindings::sockets::tcp::{HostTcpSocket, ShutdownType};
use wasmtime_wasi::sockets::WasiSocketsView;

/// The TCP interface as wasmtime-wasi defines it in the linker; the guest's
/// older import version resolves to it.
const TCP: &str = "wasi:sockets/tcp@0.2.12";

/// Replaces `remote-address` and `shutdown` of TCP sockets in `linker`
/// (which already holds WASI) with versions that never return
/// `invalid-state` for a socket whose peer is gone.
pub fn mend<T: WasiSocketsView + 'static>(linker: &mut Linker<T>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut tcp = linker.instance(TCP)?;
    tcp.func_wrap(
        "[method]tcp-socket.remote-address",
        |mut store, (this,): (Resource<TcpSocket>,)| {
            let mut view = store.data_mut().sockets();
            let family =
                HostTcpSocket::address_family(&mut view, Resource::new_borrow(this.rep()))?;
            let result = match HostTcpSocket::remote_address(&mut view, this) {
                Ok(address) => Ok(address),
                Err(e) => match e.downcast()? {
                    ErrorCode::InvalidState => Ok(unspecified(family)),
                    code => Err(code),
                },
            };
            Ok((result,))
        },
    )?;
    tcp.func_wrap(
        "[method]tcp-socket.shutdown",
        |mut store, (this, how): (Resource<TcpSocket>, ShutdownType)| {
            let result = match HostTcpSocket::shutdown(&mut store.data_mut().sockets(), this, how) {
                Ok(()) => Ok(()),
                Err(e) => match e.downcast()? {
                    ErrorCode::InvalidState => Err(ErrorCode::ConnectionReset),
                    code => Err(code),
                },
            };
            Ok((result,))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

fn unspecified(family: IpAddressFamily) -> IpSocketAddress {
    let address = match family {
        IpAddressFamily::Ipv4 => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        IpAddressFamily::Ipv6 => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
    };
    address.into()
}
