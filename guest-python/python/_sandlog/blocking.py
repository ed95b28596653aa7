"""Makes the blocking calls of the standard library exit-aware.

A source blocked in time.sleep, select, a socket accept/recv or an asyncio
loop must still get its request_exit() call promptly, and the messages it
posted before blocking must reach the host before it waits. Each blocking
primitive therefore first hands buffered messages to the host, then waits
in the host, which ends the wait early when the source should hear from it:

- time.sleep waits in the host's sleep;
- select.select, select.poll and blocking socket calls announce their wait
  (prepare-wait), then wait in WASI on the real descriptors for as long as
  they were asked to; the host ends an announced wait, with nothing ready,
  for an exit request or for the acks the source waits for. A wait costs
  nothing however long it is.

A sleep or a select/poll wait during which request_exit() was delivered
returns early (a select with nothing ready), so that the usual
`while not self.exit: time.sleep(...)` loop notices the exit at once
instead of finishing its wait. A blocking socket call keeps waiting: a
request_exit() that closes or shuts down the socket ends it.

install() must run before selectors and asyncio are imported, since
selectors keeps a reference to select.poll in a class attribute.
"""

import errno as _errno
import os as _os
import select as _select
import socket as _socket
import time as _time

from . import runtime, socketpair

_real_select = _select.select
_real_poll = getattr(_select, "poll", None)
_real_monotonic = _time.monotonic


def sleep(secs):
    """time.sleep: wait in the host, so that an exit request wakes it."""
    if secs != secs or secs < 0:
        raise ValueError("sleep length must be non-negative")
    told = runtime.exit_delivered()
    runtime.flush()
    if runtime.exit_delivered() and not told:
        # The hand-over brought the exit request: this wait is the one
        # the source's loop would have ended with.
        return
    deadline = _real_monotonic() + secs
    remaining = secs
    while remaining > 0:
        if runtime.sleep_part(remaining):
            return
        remaining = deadline - _real_monotonic()


def _waits(timeout, end_on_exit):
    """Yield the lengths (None: no limit) of the WASI waits that make up a
    wait of `timeout` seconds (None: forever), each announced to the host.
    After a wait that came back with nothing, the exit request or the acks
    that ended it are taken; with `end_on_exit`, a delivered exit request
    ends the wait with a last zero-length one."""
    told = runtime.exit_delivered()
    runtime.flush()
    if end_on_exit and runtime.exit_delivered() and not told:
        yield 0
        return
    deadline = None if timeout is None else _real_monotonic() + max(timeout, 0)
    while True:
        remaining = None
        if deadline is not None:
            remaining = deadline - _real_monotonic()
            if remaining <= 0:
                yield 0
                return
        came, part = runtime.prepare_wait(remaining)
        if came and end_on_exit:
            yield 0
            return
        yield part
        # The exit request may also have come with the wait itself (a host
        # sleep standing in for a select() without descriptors).
        came = runtime.poll_exit()
        if end_on_exit and (came or (runtime.exit_delivered() and not told)):
            yield 0
            return


def _real_select_waiting(rlist, wlist, xlist, part):
    """select() on the real descriptors for `part` seconds (None: no
    limit). With no descriptors the wait is a host sleep: WASI cannot poll
    an empty list."""
    if rlist or wlist or xlist:
        return _real_select(rlist, wlist, xlist, part)
    if part is None:
        runtime.sleep_part(_FOREVER)
    elif part > 0:
        runtime.sleep_part(part)
    return [], [], []


# A wait without a limit, in seconds, for the host's sleep (which takes one).
_FOREVER = 365 * 86400.0


def _fd(obj):
    return obj if isinstance(obj, int) else obj.fileno()


# Real sockets whose readable data the sandbox holds (TLS plaintext or
# records a session has not taken yet): by file number, an object whose
# `_has_buffered(fd)` says whether that is still so. select() and poll()
# report them readable, as OpenSSL's sockets would be while its records
# wait in the kernel.
buffered = {}


def _ready_now(fd, readable):
    """Whether `fd` is ready without asking the real descriptors: an
    in-sandbox socket pair end, or a socket with data held here."""
    if socketpair.is_pair_fd(fd):
        return socketpair.ready(fd, True) if readable else True
    if readable and fd in buffered:
        holder = buffered[fd]()
        if holder is not None and holder._has_buffered(fd):
            return True
        buffered.pop(fd, None)
    return False


def select(rlist, wlist, xlist, timeout=None):
    """select.select, its waits announced to the host. In-sandbox socket pair
    ends (see socketpair.py) and sockets with data held in the sandbox are
    answered here: when one is ready, the real descriptors are only
    polled."""
    if timeout is not None and timeout < 0:
        raise ValueError("timeout must be non-negative")
    if socketpair.ends or buffered:
        rlist, wlist, xlist = list(rlist), list(wlist), list(xlist)
        pairs = [o for o in rlist + wlist + xlist if socketpair.is_pair_fd(_fd(o))]
        rr = [o for o in rlist if _ready_now(_fd(o), True)]
        ww = [o for o in wlist if socketpair.is_pair_fd(_fd(o))]
        if pairs:
            rlist = [o for o in rlist if o not in pairs]
            wlist = [o for o in wlist if o not in pairs]
            xlist = [o for o in xlist if o not in pairs]
        if rr or ww:
            r, w, x = _real_select(rlist, wlist, xlist, 0) if rlist or wlist or xlist else ([], [], [])
            return r + [o for o in rr if o not in r], w + ww, x
    if timeout == 0:
        return _real_select(rlist, wlist, xlist, 0)
    for part in _waits(timeout, True):
        r, w, x = _real_select_waiting(rlist, wlist, xlist, part)
        if r or w or x or part == 0:
            return r, w, x
    return [], [], []


def _millis(secs):
    """A poll() timeout in whole milliseconds, rounded up so that a short
    wait is not a busy one."""
    return max(0, -int(-secs * 1000 // 1))


class poll:
    """select.poll, its waits announced to the host (see select above for
    the descriptors it answers itself)."""

    def __init__(self):
        self._poll = _real_poll()
        # What is registered, by file number: in-sandbox pair ends only
        # here, real descriptors here and in the real poll object.
        self._masks = {}
        # The real descriptors registered: without any, a wait is a host
        # sleep.
        self._real = set()

    def register(self, fd, eventmask=_select.POLLIN | _select.POLLPRI | _select.POLLOUT):
        fd = _fd(fd)
        self._masks[fd] = eventmask
        if socketpair.is_pair_fd(fd):
            return None
        self._poll.register(fd, eventmask)
        self._real.add(fd)

    def modify(self, fd, eventmask):
        fd = _fd(fd)
        if fd not in self._masks:
            raise FileNotFoundError(_errno.ENOENT, "No such file or directory")
        self._masks[fd] = eventmask
        if socketpair.is_pair_fd(fd):
            return None
        return self._poll.modify(fd, eventmask)

    def unregister(self, fd):
        fd = _fd(fd)
        self._masks.pop(fd, None)
        if socketpair.is_pair_fd(fd):
            return None
        self._real.discard(fd)
        return self._poll.unregister(fd)

    def _ready_events(self):
        out = []
        for fd, mask in self._masks.items():
            if fd >= socketpair._FIRST_FD and fd not in socketpair.ends:
                out.append((fd, _select.POLLNVAL))
                continue
            ev = 0
            if mask & _select.POLLIN and _ready_now(fd, True):
                ev |= _select.POLLIN
            if mask & _select.POLLOUT and socketpair.is_pair_fd(fd):
                ev |= _select.POLLOUT
            if ev:
                out.append((fd, ev))
        return out

    def poll(self, timeout=None):
        if socketpair.ends or buffered:
            ready = self._ready_events()
            if ready:
                events = dict(self._poll.poll(0))
                for fd, ev in ready:
                    events[fd] = events.get(fd, 0) | ev
                return list(events.items())
        if timeout is not None and timeout >= 0:
            if timeout == 0:
                return self._poll.poll(0)
            timeout = timeout / 1000.0
        else:
            timeout = None
        for part in _waits(timeout, True):
            if not self._real:
                _real_select_waiting([], [], [], part)
                events = []
            else:
                events = self._poll.poll(None if part is None else _millis(part))
            if events or part == 0:
                return events
        return []


def wait_fd(fd, readable, deadline):
    """Wait until `fd` is ready for reading (or writing) until `deadline`
    (a monotonic time; None: no limit). True when it is ready, False when
    the deadline passed. An exit request does not end the wait: the
    source's request_exit() closing the socket does."""
    timeout = None if deadline is None else max(deadline - _real_monotonic(), 0)
    return _wait_ready(fd, readable, timeout)


def _wait_ready(fd, readable, timeout):
    r = [fd] if readable else []
    w = [] if readable else [fd]
    for part in _waits(timeout, False):
        rr, ww, _ = _real_select(r, w, [], part)
        if rr or ww:
            return True
        if part == 0:
            return False
    return False


def _wait(sock, readable):
    """Wait until a socket in blocking or timeout mode is ready. Raises
    TimeoutError when its timeout passes."""
    timeout = sock.gettimeout()
    if timeout == 0:
        return
    fd = sock.fileno()
    if fd < 0:
        return
    if not _wait_ready(fd, readable, timeout):
        raise TimeoutError("timed out")


def connection_error(exc):
    """The error a socket operation should raise for `exc`: WASI reports a
    connection the peer reset as a failed stream, which wasi-libc turns
    into EIO; Python code (and the libraries above it) expect
    ConnectionResetError."""
    if type(exc) is OSError and exc.errno == _errno.EIO:
        return ConnectionResetError(_errno.ECONNRESET, "Connection reset by peer")
    return exc


def _reader(name):
    real = getattr(_socket.socket, name)

    def method(self, *args, **kwargs):
        _wait(self, True)
        try:
            return real(self, *args, **kwargs)
        except OSError as exc:
            raise connection_error(exc) from None

    method.__name__ = name
    method.__qualname__ = "socket." + name
    method.__doc__ = real.__doc__
    return method


def _writer(name):
    real = getattr(_socket.socket, name)

    def method(self, *args, **kwargs):
        _wait(self, False)
        try:
            return real(self, *args, **kwargs)
        except OSError as exc:
            raise connection_error(exc) from None

    method.__name__ = name
    method.__qualname__ = "socket." + name
    method.__doc__ = real.__doc__
    return method


_real_exit = _os._exit


def _exit(status):
    """os._exit: what the source posted leaves the guest first."""
    try:
        runtime.flush()
    finally:
        _real_exit(status)


def install():
    _os._exit = _exit
    _time.sleep = sleep
    _select.select = select
    if _real_poll is not None:
        _select.poll = poll
    for name in ("accept", "recv", "recvfrom", "recv_into", "recvfrom_into"):
        setattr(_socket.socket, name, _reader(name))
    for name in ("send", "sendall", "sendto"):
        setattr(_socket.socket, name, _writer(name))
