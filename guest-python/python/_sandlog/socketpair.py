"""socket.socketpair() inside the sandbox, without the network.

CPython for WASI makes a socket pair the portable way: a listener on the
loopback interface, a connect and an accept. That needs a network grant
for the host's loopback, which would open every service on it to the
script. asyncio makes one for every event loop (its self-pipe), so every
asyncio script would need that grant.

The pair here is two connected in-memory stream ends. Each has a file
number of its own, far above the ones the guest's libc hands out, and
select() and poll() (as blocking.py installs them) know these numbers: an
end is readable when its buffer holds data or its peer has closed, and
always writable. An instance has one thread, so an end cannot become
ready while the guest waits in select(): the wait only has to look at the
real descriptors.
"""

import errno as _errno
import socket as _socket

# File numbers of pair ends start here; the guest's libc hands out small
# ones.
_FIRST_FD = 1 << 24
_next_fd = _FIRST_FD

# The open ends, by file number.
ends = {}


def is_pair_fd(fd):
    return fd >= _FIRST_FD and fd in ends


def ready(fd, readable):
    """Whether the end with file number `fd` is ready."""
    end = ends.get(fd)
    if end is None:
        return False
    if readable:
        return bool(end._buf) or end._peer is None or end._peer._closed or end._shut_rd
    return True


class PairSocket:
    """One end of an in-sandbox stream pair: the subset of socket.socket
    that socket pairs are used with (recv, send and their variants,
    blocking modes, shutdown, close, fileno)."""

    def __init__(self, family, type, proto):
        global _next_fd
        self.family = family
        self.type = type
        self.proto = proto
        self._fd = _next_fd
        _next_fd += 1
        self._buf = bytearray()
        self._peer = None
        self._closed = False
        self._shut_rd = False
        self._shut_wr = False
        self._timeout = None
        ends[self._fd] = self

    def __repr__(self):
        return f"<sandlog socketpair end fd={self._fd if not self._closed else -1}>"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def fileno(self):
        return -1 if self._closed else self._fd

    def setblocking(self, flag):
        self._timeout = None if flag else 0.0

    def getblocking(self):
        return self._timeout != 0.0

    def settimeout(self, value):
        self._timeout = None if value is None else float(value)

    def gettimeout(self):
        return self._timeout

    def _check(self):
        if self._closed:
            raise OSError(_errno.EBADF, "Bad file descriptor")

    def _wait_readable(self):
        if self._buf or self._shut_rd or self._peer is None or self._peer._closed:
            return
        if self._timeout == 0.0:
            raise BlockingIOError(_errno.EAGAIN, "Resource temporarily unavailable")
        # Only this instance can write to the peer, and it is waiting here:
        # a real pair would block for ever too.
        if self._timeout is None:
            raise OSError(_errno.EDEADLK, "a socket pair read would wait for ever: nothing else can write to it")
        raise TimeoutError("timed out")

    def recv(self, bufsize, flags=0):
        self._check()
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        self._wait_readable()
        data = bytes(self._buf[:bufsize])
        del self._buf[:bufsize]
        return data

    def recv_into(self, buffer, nbytes=0, flags=0):
        view = memoryview(buffer).cast("B")
        data = self.recv(nbytes or view.nbytes)
        view[:len(data)] = data
        return len(data)

    def recvfrom(self, bufsize, flags=0):
        return self.recv(bufsize), None

    def send(self, data, flags=0):
        self._check()
        if self._shut_wr:
            raise BrokenPipeError(_errno.EPIPE, "Broken pipe")
        peer = self._peer
        if peer is None or peer._closed or peer._shut_rd:
            raise BrokenPipeError(_errno.EPIPE, "Broken pipe")
        view = memoryview(data).cast("B")
        peer._buf += view
        return view.nbytes

    def sendall(self, data, flags=0):
        self.send(data, flags)

    def shutdown(self, how):
        self._check()
        if how in (_socket.SHUT_RD, _socket.SHUT_RDWR):
            self._shut_rd = True
        if how in (_socket.SHUT_WR, _socket.SHUT_RDWR):
            self._shut_wr = True
            if self._peer is not None:
                self._peer._shut_rd = True

    def close(self):
        if not self._closed:
            self._closed = True
            ends.pop(self._fd, None)
            self._buf.clear()

    def detach(self):
        fd = self.fileno()
        self.close()
        return fd

    def getsockname(self):
        return ""

    def getpeername(self):
        return ""

    def setsockopt(self, *args):
        return None

    def getsockopt(self, *args):
        return 0


def socketpair(family=None, type=_socket.SOCK_STREAM, proto=0):
    """Two connected in-sandbox stream ends (socket.socketpair)."""
    if family is None:
        family = getattr(_socket, "AF_UNIX", _socket.AF_INET)
    if type != _socket.SOCK_STREAM:
        raise OSError(_errno.EOPNOTSUPP, "only stream socket pairs are supported in the sandbox")
    a = PairSocket(family, type, proto)
    b = PairSocket(family, type, proto)
    a._peer, b._peer = b, a
    return a, b


def install():
    _socket.socketpair = socketpair
