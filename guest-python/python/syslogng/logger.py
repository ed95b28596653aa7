"""syslogng.Logger and Python's logging, both into the host log.

As in AxoSyslog, `Logger()` writes to the daemon's own log at the level of
the method called, and the root logger of Python's `logging` is set to
DEBUG with a handler that forwards each record at its level, formatted as
`python-NAME: MESSAGE`. The host log's level decides what is kept; every
line carries the source's name.
"""

import logging

from _sandlog import hostcalls as host
from _sandlog.hostcalls import LogLevel


def _text(message):
    return message if type(message) is str else str(message)


class Logger:
    """The source's channel into the host log."""

    def trace(self, message):
        host.log(LogLevel.TRACE, _text(message))

    def debug(self, message):
        host.log(LogLevel.DEBUG, _text(message))

    def info(self, message):
        host.log(LogLevel.INFO, _text(message))

    def warning(self, message):
        host.log(LogLevel.WARN, _text(message))

    def error(self, message):
        host.log(LogLevel.ERROR, _text(message))


class HostLogHandler(logging.Handler):
    """A logging handler that forwards records to the host log."""

    def emit(self, record):
        try:
            text = self.format(record)
        except Exception:  # noqa: BLE001 - logging's own policy: report, go on
            self.handleError(record)
            return
        level = record.levelno
        if level >= logging.ERROR:
            host.log(LogLevel.ERROR, text)
        elif level >= logging.WARNING:
            host.log(LogLevel.WARN, text)
        elif level >= logging.INFO:
            host.log(LogLevel.INFO, text)
        elif level >= logging.DEBUG:
            host.log(LogLevel.DEBUG, text)
        else:
            host.log(LogLevel.TRACE, text)


def setup_logging():
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    handler = HostLogHandler()
    handler.setFormatter(logging.Formatter("python-%(name)s: %(message)s"))
    root.addHandler(handler)
