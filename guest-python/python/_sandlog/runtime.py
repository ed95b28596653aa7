"""The one source this instance runs, its message buffer and exit delivery.

An instance runs exactly one source. Exported interface objects are created
anew for every call, so all state lives here at module level.

AxoSyslog calls request_exit() from another thread while run() is working.
A WebAssembly instance has one thread, so the host marks the exit as wanted
and the guest calls request_exit() itself at its next contact with the
host: a post, a flush, a sleep, or a slice of a blocking wait.
"""

import sys
import traceback
from array import array

from wit_world.imports import host
from wit_world.imports.types import LogLevel, MessageBlock

# The running source object and its name (set by the loader).
source = None
source_name = ""

# Posted messages not yet handed to the host, flattened (see the
# message-block record in the WIT world): the names and values of their
# string pairs, the pair count of each message, the extras of the few that
# have any, and the buffer indices after which a batch was closed.
# `capacity` 0 means unbuffered. With `auto_close` every message is a batch
# of its own (AxoSyslog's auto_close_batches, read once after init()).
_names = []
_values = []
_counts = array("I")
_extras = []
_closes = []
capacity = 256
auto_close = True
max_message_size = 65536

_exit_wanted = False
_exit_delivered = False
_in_request_exit = False


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


def poll_exit():
    """Ask the host whether an exit is wanted; deliver it if so. True when
    request_exit() was delivered by this call."""
    if not _exit_delivered and host.take_exit_request():
        _host_wants_exit()
        return True
    return False


def post_message(self, msg):
    """LogSource.post_message: the hot path of every message.

    Buffered, a message costs three list operations; it leaves the guest
    with the rest of the buffer when the buffer is full, before the source
    blocks, and when run() returns."""
    if type(msg) is not LogMessage and not isinstance(msg, LogMessage):
        raise TypeError("LogMessage expected in the first parameter")
    pairs = msg._s
    size = msg._size
    if msg._has_extras and msg._typed:
        size += msg._typed_size()
    if size > max_message_size:
        raise ValueError(f"message of {size} bytes exceeds max_message_size ({max_message_size} bytes)")
    if capacity == 0:
        if host.post_message(_block([msg])):
            _host_wants_exit()
        if auto_close:
            host.close_batch()
        return
    if msg._has_extras:
        _extras.append((len(_counts), msg._extras()))
    _names.extend(pairs)
    _values.extend(pairs.values())
    _counts.append(len(pairs))
    if len(_counts) >= capacity:
        flush()


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


def _block(msgs):
    """A block of messages posted one at a time (unbuffered mode)."""
    names, values, counts, extras = [], [], [], []
    for i, msg in enumerate(msgs):
        pairs = msg._s
        if msg._has_extras:
            extras.append((i, msg._extras()))
        names.extend(pairs)
        values.extend(pairs.values())
        counts.append(len(pairs))
    return MessageBlock(
        "".join(names), _packed(map(len, names)),
        b"".join(values).decode("latin-1"), _packed(map(len, values)),
        _packed(counts), extras, None)


def flush():
    """Hand every buffered message to the host, in order, with batch ends."""
    global _names, _values, _counts, _extras, _closes
    if not _counts:
        return
    block = MessageBlock(
        "".join(_names), _packed(map(len, _names)),
        b"".join(_values).decode("latin-1"), _packed(map(len, _values)),
        _counts.tobytes().decode("latin-1"), _extras, None if auto_close else _closes)
    _names, _values, _counts, _extras, _closes = [], [], array("I"), [], []
    if host.post_messages(block):
        _host_wants_exit()


def log(level, text):
    host.log(level, text)


def set_transport_name(name):
    host.set_transport_name(name)


# Bound late: syslogng.message imports this module.
from syslogng.message import LogMessage  # noqa: E402
