"""Ack trackers: a source that sets `self.ack_tracker` in init() learns,
through a callback, which of its bookmarked messages the destinations have
written (for a file: written and flushed), as in AxoSyslog.

- InstantAckTracker(ack_callback): ack_callback(bookmark) for every
  bookmarked message, once written;
- ConsecutiveAckTracker(ack_callback): ack_callback(bookmark) with the
  bookmark of the last message of each run of written messages, the
  position a source can resume from;
- BatchedAckTracker(timeout, batch_size, batched_ack_callback):
  batched_ack_callback([bookmarks]) once batch_size bookmarks are written,
  or `timeout` milliseconds after the first of a partial batch.

A WebAssembly instance has one thread, so callbacks run in the source's
own thread at its next contact with the host (a post, a sleep, a blocking
wait, which the host ends when acks the tracker waits for come), and once more after run() returns, before deinit(), with
the acks of everything the destinations wrote by then.
"""

import collections
import time
import traceback

from _sandlog import hostcalls as host
from _sandlog.hostcalls import LogLevel


def _callable(fn, what):
    if not callable(fn):
        raise TypeError(f"A callable object is expected ({what})")
    return fn


def _unsigned(value, what):
    value = value.__index__()
    if value < 0:
        raise OverflowError(f"{what} must not be negative")
    return value


def _invoke(fn, arg, who):
    """A callback's exception is logged with its traceback, as AxoSyslog
    logs it; the source goes on."""
    try:
        fn(arg)
    except BaseException:  # noqa: BLE001 - reported, the source goes on
        host.log(LogLevel.ERROR, f"{who} callback raised:\n" + traceback.format_exc().rstrip())


class AckTracker:
    """The base of the ack trackers; a source uses one of its subclasses."""

    def __init__(self):
        # (sequence number of the message, bookmark), in posting order.
        self._pending = collections.deque()

    def _track(self, seq, bookmark):
        self._pending.append((seq, bookmark))

    def _acked(self, acked):
        """The destinations have written the first `acked` messages."""
        pending = self._pending
        if not pending or pending[0][0] > acked:
            return
        written = []
        while pending and pending[0][0] <= acked:
            written.append(pending.popleft()[1])
        self._dispatch(written)

    def _dispatch(self, bookmarks):
        raise NotImplementedError

    def _waiting(self):
        return bool(self._pending)

    def _deadline(self):
        """When a partial batch is due (monotonic seconds), if any."""
        return None

    def _tick(self):
        pass

    def _finish(self):
        pass


class InstantAckTracker(AckTracker):
    def __init__(self, ack_callback):
        super().__init__()
        self.ack_callback = _callable(ack_callback, "ack_callback")

    def _dispatch(self, bookmarks):
        for bookmark in bookmarks:
            _invoke(self.ack_callback, bookmark, "InstantAckTracker")


class ConsecutiveAckTracker(AckTracker):
    def __init__(self, ack_callback):
        super().__init__()
        self.ack_callback = _callable(ack_callback, "ack_callback")

    def _dispatch(self, bookmarks):
        _invoke(self.ack_callback, bookmarks[-1], "ConsecutiveAckTracker")


class BatchedAckTracker(AckTracker):
    def __init__(self, timeout, batch_size, batched_ack_callback):
        super().__init__()
        self.timeout = _unsigned(timeout, "timeout")
        self.batch_size = _unsigned(batch_size, "batch_size")
        self.batched_ack_callback = _callable(batched_ack_callback, "batched_ack_callback")
        self._batch = []
        self._since = None

    def _dispatch(self, bookmarks):
        if not self._batch:
            self._since = time.monotonic()
        self._batch.extend(bookmarks)
        size = max(self.batch_size, 1)
        while len(self._batch) >= size:
            batch, self._batch = self._batch[:size], self._batch[size:]
            _invoke(self.batched_ack_callback, batch, "BatchedAckTracker")
            self._since = time.monotonic() if self._batch else None
        self._tick()

    def _deadline(self):
        if not self._batch:
            return None
        return self._since + self.timeout / 1000

    def _tick(self):
        deadline = self._deadline()
        if deadline is not None and time.monotonic() >= deadline:
            self._finish()

    def _finish(self):
        if self._batch:
            batch, self._batch, self._since = self._batch, [], None
            _invoke(self.batched_ack_callback, batch, "BatchedAckTracker")
