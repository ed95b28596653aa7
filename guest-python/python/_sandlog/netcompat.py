"""Numeric addresses without a resolver.

wasi-libc hands every getaddrinfo() to the host's name lookup, even for
"127.0.0.1". A policy that denies DNS would then break
socket.create_connection(("127.0.0.1", 514)). Numeric hosts are therefore
answered here, as a C library does locally; names still go to the host,
which allows or denies them by policy.
"""

import ipaddress
import socket as _socket

_real_getaddrinfo = _socket.getaddrinfo

_TYPES = ((_socket.SOCK_STREAM, _socket.IPPROTO_TCP), (_socket.SOCK_DGRAM, _socket.IPPROTO_UDP))


def _port(port):
    if port is None:
        return 0
    if isinstance(port, bytes):
        port = port.decode()
    if isinstance(port, str):
        if not port.isdigit():
            raise _socket.gaierror(_socket.EAI_SERVICE, "Servname not supported for ai_socktype")
        return int(port)
    return int(port)


def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    if isinstance(host, bytes):
        host = host.decode("idna")
    if host is None:
        ip = "0.0.0.0" if flags & _socket.AI_PASSIVE else "127.0.0.1"
    else:
        ip = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if "%" in ip:
            return _real_getaddrinfo(host, port, family, type, proto, flags)
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            return _real_getaddrinfo(host, port, family, type, proto, flags)
    addr = ipaddress.ip_address(ip)
    fam = _socket.AF_INET6 if addr.version == 6 else _socket.AF_INET
    if family not in (0, _socket.AF_UNSPEC, fam):
        raise _socket.gaierror(_socket.EAI_FAMILY, "ai_family not supported")
    p = _port(port)
    sockaddr = (ip, p, 0, 0) if fam == _socket.AF_INET6 else (ip, p)
    out = []
    for t, pr in _TYPES:
        if (type and type != t) or (proto and proto != pr):
            continue
        out.append((_socket.AddressFamily(fam), _socket.SocketKind(t), pr, "", sockaddr))
    return out


def install():
    _socket.getaddrinfo = getaddrinfo
