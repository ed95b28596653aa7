"""LogFetcher: the base class of fetcher-style sources, and the loop that
drives one with AxoSyslog's semantics for each fetch() result:

- SUCCESS: the message is posted, fetch() is called again;
- TRY_AGAIN: fetch() is called again at once;
- NO_DATA: fetch() is called again after fetch_no_data_delay;
- ERROR: logged, close() is called, open() again after time_reopen;
- NOT_CONNECTED: open() again after time_reopen.

open() returning a false value is retried after time_reopen. The waits are
exit-aware sleeps, so a fetcher stops promptly on exit even while waiting
out a delay; on exit the loop ends and close() is called.
"""

import enum

from _sandlog import hostcalls as host
from _sandlog.hostcalls import LogLevel

from _sandlog import runtime as _runtime

from .message import LogMessage


class LogFetcherResult(enum.IntEnum):
    ERROR = 0
    NOT_CONNECTED = 1
    SUCCESS = 2
    TRY_AGAIN = 3
    NO_DATA = 4


class LogFetcher:
    """Subclass it and implement fetch(); init(options), deinit(), open(),
    close() and request_exit() are optional."""

    ERROR = FETCH_ERROR = LogFetcherResult.ERROR
    NOT_CONNECTED = FETCH_NOT_CONNECTED = LogFetcherResult.NOT_CONNECTED
    SUCCESS = FETCH_SUCCESS = LogFetcherResult.SUCCESS
    TRY_AGAIN = FETCH_TRY_AGAIN = LogFetcherResult.TRY_AGAIN
    NO_DATA = FETCH_NO_DATA = LogFetcherResult.NO_DATA

    flags = {}
    parse_options = None

    def init(self, options):
        return True

    def deinit(self):
        pass

    def open(self):
        return True

    def close(self):
        pass

    def fetch(self):
        raise NotImplementedError("fetch() is not implemented")

    def request_exit(self):
        pass

    @property
    def persist_name(self):
        # As syslog-ng formats it for a fetcher with persist-name().
        return "python-fetcher." + _runtime.source_name

    def set_transport_name(self, name):
        _runtime.set_transport_name(name)


def _wait(seconds):
    """An exit-aware wait; True when the source should stop."""
    if _runtime.exit_delivered():
        return True
    import time
    time.sleep(seconds)
    return _runtime.exit_delivered()


def _result(value):
    """(result, message) from what fetch() returned, judged as AxoSyslog
    judges it: anything malformed counts as ERROR."""
    if not isinstance(value, tuple) or not 1 <= len(value) <= 2:
        return None, None
    code = value[0]
    if not isinstance(code, int) or not 0 <= int(code) <= 4:
        return None, None
    code = LogFetcherResult(int(code))
    msg = value[1] if len(value) == 2 else None
    if code is LogFetcherResult.SUCCESS and not isinstance(msg, LogMessage):
        return None, None
    return code, msg


def _logged(what):
    """Logs the exception being handled, as AxoSyslog logs an exception
    that escaped one of the fetcher's methods."""
    import traceback
    host.log(LogLevel.ERROR, f"Exception while calling a Python function: {what}\n"
             + traceback.format_exc().rstrip())


def _open(fetcher):
    """open(), judged by truthiness; an exception counts as a failed open,
    retried after time_reopen, as in AxoSyslog."""
    try:
        return bool(fetcher.open())
    except BaseException:  # noqa: BLE001 - logged, as AxoSyslog does
        _logged("open()")
        return False


def _close(fetcher):
    try:
        fetcher.close()
    except BaseException:  # noqa: BLE001 - logged and ignored, as AxoSyslog does
        _logged("close()")


# What _fetch returns for a fetch() that raised.
_RAISED = object()


def _fetch(fetcher):
    """fetch(); an exception counts as ERROR, as in AxoSyslog."""
    try:
        return fetcher.fetch()
    except BaseException:  # noqa: BLE001 - logged, then the ERROR path
        _logged("fetch()")
        return _RAISED


def drive(fetcher, no_data_delay, time_reopen):
    """Runs the fetch loop until the source is asked to exit. As in
    AxoSyslog, an exception from open(), fetch() or close() is logged and
    the loop goes on (reconnecting after time_reopen), and close() is
    called when the loop ends."""
    post = _runtime.post_message
    connected = _open(fetcher)
    try:
        while not _runtime.exit_delivered():
            if not connected:
                if _wait(time_reopen):
                    break
                connected = _open(fetcher)
                continue
            value = _fetch(fetcher)
            if value is _RAISED:
                code, msg = LogFetcherResult.ERROR, None
            else:
                code, msg = _result(value)
            if code is LogFetcherResult.SUCCESS and msg.bookmark is not None \
                    and _runtime.ack_tracker is None:
                # As AxoSyslog: such a fetch counts as an error.
                host.log(LogLevel.ERROR, "bookmarks can not be used without creating an AckTracker instance (self.ack_tracker)")
                code = LogFetcherResult.ERROR
            if code is LogFetcherResult.SUCCESS:
                # An exit request comes back with the next flush of posts.
                post(fetcher, msg)
            elif code is LogFetcherResult.TRY_AGAIN:
                _runtime.poll_exit()
            elif code is LogFetcherResult.NO_DATA:
                if _wait(no_data_delay):
                    break
            elif code is LogFetcherResult.NOT_CONNECTED:
                host.log(LogLevel.INFO, "Fetcher disconnected while receiving messages, reconnecting")
                connected = False
            else:
                if code is None:
                    host.log(LogLevel.ERROR, "fetch() must return a tuple (LogFetcherResult, LogMessage)")
                host.log(LogLevel.ERROR, "Error during fetching messages")
                _close(fetcher)
                connected = False
    finally:
        _close(fetcher)
