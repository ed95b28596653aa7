"""The one source this instance runs, its message buffer and exit delivery.

An instance runs exactly one source. Exported interface objects are created
anew for every call, so all state lives here at module level.

AxoSyslog calls request_exit() from another thread while run() is working.
A WebAssembly instance has one thread, so the host marks the exit as wanted
and the guest calls request_exit() itself at its next contact with the
host: a post, a flush, a sleep, or a blocking wait (which the host ends
early for it).
"""

import sys
import traceback
from array import array
from time import monotonic_ns as _monotonic_ns

from _sandlog_shared import (DEFAULT_GUEST_BUFFER, DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_WINDOW,
                             MAX_TRANSPORT_NAME, NATIVE_MESSAGE_PATH, PENDING_MAX_AGE_MS,
                             PENDING_PROBE_BYTES, PENDING_PROBE_STR, PENDING_PROBE_WORD)

from . import hostcalls as host
from .hostcalls import LogLevel, MessageBlock, PendingArea

# The running source object and its name (set by the loader).
source = None
source_name = ""

# Posted messages not yet handed to the host, flattened (see the
# message-block record in the WIT world): the names and values of their
# string pairs, the pair count of each message, the extras of the few that
# have any, and the buffer indices after which a batch was closed.
# `capacity` 0 means unbuffered. With `auto_close` every message is a batch
# of its own (AxoSyslog's auto_close_batches, read once after init()).
#
# The host knows where these objects are (register_pending) and reads them
# from the guest's memory when the instance trapped or was interrupted
# with messages in the buffer: so they are never rebound, only emptied,
# and a message is in the buffer once its count is in `_counts`, which is
# appended last. `_handed[0]` counts the messages handed over before the
# first one in the buffer; the host takes only those it has not had.
_names = []
_values = []
_counts = array("I")
_extras = []
_closes = []
_handed = array("Q", [0])
# Objects whose contents the host knows: it reads the buffer only when
# these read back right.
_probe = [PENDING_PROBE_STR, PENDING_PROBE_BYTES, array("I", [PENDING_PROBE_WORD])]
_flushing = False
# When the oldest buffered message was posted (monotonic ns), and the
# buffer lengths at which the post path looks at the clock: 1, 2, 4, 8, 16,
# then every 32nd, so that a slow source hands over within about twice
# PENDING_MAX_AGE_MS and a fast one (whose buffer fills first anyway) asks
# the clock 12 times per 256 messages (each asking costs about as much as
# a post).
_since = 0
_MAX_AGE_NS = PENDING_MAX_AGE_MS * 1_000_000
_AGE_CHECKS = frozenset([1, 2, 4, 8, 16, *range(32, 1 << 16, 32)])
capacity = DEFAULT_GUEST_BUFFER
auto_close = True
max_message_size = DEFAULT_MAX_MESSAGE_SIZE

_exit_wanted = False
_exit_delivered = False
# run() has returned: what is posted from now on would never be handed over.
run_done = False
_in_request_exit = False

# Flow control (AxoSyslog's log-iw-size) and acks: `_posted` counts the
# messages handed to the host, `_acked` how many of them every destination
# has written. While more than `window` wait, post_message blocks (the
# guest sleeps in the host until acks come), or, for a class that has
# suspend() and wakeup(), suspend() is called once and wakeup() when the
# window has room again.
window = DEFAULT_WINDOW
_posted = 0
_acked = 0
suspend_mode = False
_suspended = False
# The source's ack tracker (its `ack_tracker` after init()), if any.
ack_tracker = None
_in_acks = False

_FOREVER_NS = 3600 * 10**9


def _host_wants_exit():
    """Record a pending exit request from the host, deliver it if possible."""
    global _exit_wanted
    _exit_wanted = True
    deliver_exit()


def deliver_exit():
    """Call the source's request_exit() once, from the source's own thread."""
    global _exit_delivered, _in_request_exit
    if _exit_delivered or _in_request_exit or source is None:
        return
    _exit_delivered = True
    _in_request_exit = True
    try:
        source.request_exit()
    except BaseException:
        host.log(LogLevel.ERROR,
                 "request_exit() raised:\n" + traceback.format_exc().rstrip())
    finally:
        _in_request_exit = False
    # As AxoSyslog: a source that can be suspended is woken up after the
    # exit request, so that a run() waiting for its wakeup() sees it.
    if suspend_mode:
        _call_source("wakeup")
    # The host lets the other stopping sources hear their exit request
    # before this one goes on.
    on_status(host.poll())
    # What was posted before the exit request leaves the guest now, in case
    # the source is interrupted later.
    flush()


def mark_exit_delivered():
    """The host called request_exit through the export: do not repeat it."""
    global _exit_delivered, _exit_wanted
    _exit_wanted = True
    _exit_delivered = True


def exit_delivered():
    return _exit_delivered


def on_status(status):
    """What the host said at a contact: acks reach the ack tracker and may
    wake a suspended source; an exit request is delivered. True when the
    exit request came with this status."""
    _take_acks(status.acked)
    if status.exit:
        _host_wants_exit()
        return True
    return False


def _take_acks(acked):
    """The destinations have written the first `acked` messages."""
    global _acked, _suspended, _in_acks
    if acked > _acked:
        _acked = acked
    # A callback that posts comes back here: what that brings waits for
    # the next contact.
    if not _in_acks:
        _in_acks = True
        try:
            if ack_tracker is not None:
                ack_tracker._acked(_acked)
                ack_tracker._tick()
            if _suspended and _posted - _acked <= window:
                _suspended = False
                _call_source("wakeup")
        finally:
            _in_acks = False


def _call_source(method):
    try:
        getattr(source, method)()
    except BaseException:  # noqa: BLE001 - reported, the source goes on
        host.log(LogLevel.ERROR, f"{method}() raised:\n" + traceback.format_exc().rstrip())


def poll_exit():
    """Ask the host where the source stands (acks, exit). True when
    request_exit() was delivered by this call."""
    return on_status(host.poll())


def _wake_target(secs):
    """For a wait of up to `secs` (None: no limit): the ack count that
    should end it (0: none), since a waiting ack tracker or a suspended
    source needs the acks, and the wait's length, cut to when a partial
    ack batch is due."""
    wake_at = 0
    if ack_tracker is not None:
        if ack_tracker._waiting():
            wake_at = _acked + 1
        due = ack_tracker._deadline()
        if due is not None:
            import time
            left = max(0.0, due - time.monotonic())
            secs = left if secs is None else min(secs, left)
    if _suspended:
        wake_at = _acked + 1
    return wake_at, secs


def sleep_part(secs):
    """Sleep in the host for up to `secs`, woken early for an exit request,
    for the acks that a waiting ack tracker or a suspended source needs, or
    when a partial ack batch is due. True when the exit request came."""
    wake_at, secs = _wake_target(secs)
    return on_status(host.sleep(int(secs * 1e9), wake_at))


def prepare_wait(secs):
    """Announce a WASI wait of up to `secs` (None: no limit) to the host,
    which ends it early, with nothing ready, for an exit request or for
    the acks this source waits for (see sleep_part). Returns whether the
    exit request came with this call, and how long the wait may be."""
    wake_at, secs = _wake_target(secs)
    return on_status(host.prepare_wait(wake_at)), secs


def _window_full():
    """After a hand-over: block while more than `window` messages wait, or
    suspend a source that can be suspended."""
    global _suspended
    if suspend_mode:
        if not _suspended:
            _suspended = True
            _call_source("suspend")
        return
    while _posted - _acked > window and not _exit_delivered:
        on_status(host.sleep(_FOREVER_NS, _posted - window))


def _bookmark(bookmark, seq):
    if ack_tracker is None:
        raise RuntimeError("Bookmarks can not be used without creating an AckTracker instance (self.ack_tracker)")
    ack_tracker._track(seq, bookmark)


def acknowledge(acked):
    """After run(): deliver the last acks (a partial batch too). True while
    bookmarked messages past `acked` wait."""
    _take_acks(acked)
    if ack_tracker is None:
        return False
    ack_tracker._finish()
    return ack_tracker._waiting()



def register_pending():
    """Tells the host where the buffer is (once per instance, before run())."""
    host.register_pending(PendingArea(id(_names), id(_values), id(_counts), id(_handed), id(_probe)))


def _aged(n):
    """At buffer length `n` (one of _AGE_CHECKS): start the buffer's clock,
    or hand the buffer over once its oldest message is old enough."""
    global _since
    now = _monotonic_ns()
    if n == 1:
        _since = now
    elif now - _since >= _MAX_AGE_NS:
        flush()


def post_message(self, msg):
    """LogSource.post_message: the hot path of every message.

    Buffered, a plain message (string pairs only, no bookmark) costs three
    list operations; it leaves the guest with the rest of the buffer when
    the buffer is full, before the source blocks, and when run() returns."""
    if type(msg) is not LogMessage and not isinstance(msg, LogMessage):
        raise TypeError("LogMessage expected in the first parameter")
    if run_done:
        raise RuntimeError("post_message must be called from main thread")
    if msg._x is not None or capacity == 0:
        _post_slow(msg)
        return
    pairs = msg._s
    if msg._size > max_message_size:
        _too_big(msg._size)
    _names.extend(pairs)
    _values.extend(pairs.values())
    _counts.append(len(pairs))
    n = len(_counts)
    if n >= capacity:
        flush()
    elif n in _AGE_CHECKS:
        _aged(n)


if NATIVE_MESSAGE_PATH:
    # The same in C (guest-python/native/): a plain LogMessage into an
    # intact buffer; anything else calls the function above, which stays
    # the reference. Bound here, before syslogng.source takes it.
    import _sandlog_native

    post_message = _sandlog_native.post_method(globals(), post_message)


def settings_changed():
    """capacity, max_message_size, run_done or a buffer was set: the native
    post path keeps its own copy of the settings, and of whether the
    buffers are still its own."""
    if NATIVE_MESSAGE_PATH:
        _sandlog_native.configure()


# What the native post path reads of this module's globals (see
# settings_changed).
_NATIVE_STATE = frozenset(["capacity", "max_message_size", "run_done", "_names", "_values",
                           "_counts"])


class _Module(type(sys)):
    """This module's type: setting or deleting what the native post path
    reads tells it (the loader sets the settings this way; so does a script
    that tampers with them)."""

    def __setattr__(self, name, value):
        super().__setattr__(name, value)
        if name in _NATIVE_STATE:
            settings_changed()

    def __delattr__(self, name):
        super().__delattr__(name)
        if name in _NATIVE_STATE:
            settings_changed()


sys.modules[__name__].__class__ = _Module


def _too_big(size):
    raise ValueError(f"message of {size} bytes exceeds max_message_size ({max_message_size} bytes)")


def _post_slow(msg):
    """post_message for a message with typed values, other extras or a
    bookmark, and for unbuffered mode."""
    global _posted
    size = msg._size + msg._typed_size()
    if size > max_message_size:
        _too_big(size)
    bookmark = msg.bookmark
    if capacity == 0:
        if bookmark is not None:
            _bookmark(bookmark, _posted + 1)
        _posted += 1
        status = host.post_message(_block([msg]))
        _handed[0] += 1
        on_status(status)
        if auto_close:
            host.close_batch()
        if _posted - _acked > window:
            _window_full()
        return
    if bookmark is not None:
        _bookmark(bookmark, _posted + len(_counts) + 1)
    if msg._has_fields():
        _extras.append((len(_counts), msg._extras()))
    pairs = msg._s
    _names.extend(pairs)
    _values.extend(pairs.values())
    _counts.append(len(pairs))
    n = len(_counts)
    if n >= capacity:
        flush()
    elif n in _AGE_CHECKS:
        _aged(n)


def close_batch():
    if capacity == 0:
        host.close_batch()
        return
    if auto_close:
        return
    n = len(_counts)
    if n and (not _closes or _closes[-1] != n - 1):
        _closes.append(n - 1)


def _packed(values):
    """Packed little-endian u32s as `bytes` (see the WIT world)."""
    return array("I", values).tobytes().decode("latin-1")


def _joined_values(values):
    """The values of a block and their lengths (see the WIT world): joined
    by NUL with no lengths when none holds a NUL, which is the common case
    and spares a length per value."""
    joined = b"\0".join(values)
    if joined.count(0) == len(values) - 1 or not values:
        return joined.decode("latin-1"), ""
    return b"".join(values).decode("latin-1"), _packed(map(len, values))


def _block(msgs):
    """A block of messages posted one at a time (unbuffered mode)."""
    names, values, counts, extras = [], [], [], []
    for i, msg in enumerate(msgs):
        pairs = msg._s
        if msg._has_fields():
            extras.append((i, msg._extras()))
        names.extend(pairs)
        values.extend(pairs.values())
        counts.append(len(pairs))
    return MessageBlock("\0".join(names), *_joined_values(values), _packed(counts), extras, None)


def flush():
    """Hand every buffered message to the host, in order, with batch ends.

    The buffer is emptied only once the host has the block: an instance
    that traps on the way (a stack overflow in the call itself, say)
    leaves the messages where the host finds them. What a finalizer posts
    while the block is on its way stays for the next flush."""
    global _posted, _flushing
    n = len(_counts)
    if not n or _flushing:
        return
    _flushing = True
    try:
        npairs = len(_names)
        block = MessageBlock(
            "\0".join(_names), *_joined_values(_values),
            _counts.tobytes().decode("latin-1"), _extras, None if auto_close else _closes)
        status = host.post_messages(block)
        del block
        _posted += n
        del _names[:npairs]
        del _values[:npairs]
        del _counts[:n]
        if _extras:
            _extras[:] = [(i - n, e) for i, e in _extras if i >= n]
        if _closes:
            _closes[:] = [i - n for i in _closes if i >= n]
        _handed[0] += n
    finally:
        _flushing = False
    on_status(status)
    if _posted - _acked > window:
        _window_full()


def log(level, text):
    host.log(level, text)


_transport = None


def set_transport_name(name):
    """The TRANSPORT of the messages posted from now on. Setting the same
    name again costs nothing, so a fetcher may set it with every message."""
    global _transport
    if type(name) is not str:
        raise TypeError(f"set_transport_name() argument must be str, not {type(name).__name__}")
    if "\0" in name:
        raise ValueError("embedded null character")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_TRANSPORT_NAME:
        raise ValueError(f"transport names cannot be longer than {MAX_TRANSPORT_NAME} bytes")
    if name == _transport:
        return
    flush()
    host.set_transport_name(name)
    _transport = name


# Bound late: syslogng.message imports this module.
from syslogng.message import LogMessage  # noqa: E402
