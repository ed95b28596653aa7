"""Routes what a script prints to the host log, tagged with the source,
so that it never mixes with the messages on the host's stdout."""

import io

from . import hostcalls as host
from .hostcalls import LogLevel


class HostLogWriter(io.TextIOBase):
    """A text stream that sends whole lines to the host log."""

    def __init__(self, level, name):
        self._level = level
        self._name = name
        self._pending = ""

    @property
    def name(self):
        return self._name

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        data = self._pending + text
        lines = data.split("\n")
        self._pending = lines.pop()
        # A runaway print loop must not build an unbounded partial line.
        if len(self._pending) > 65536:
            lines.append(self._pending)
            self._pending = ""
        for line in lines:
            host.log(self._level, line)
        return len(text)

    def flush(self):
        if self._pending:
            host.log(self._level, self._pending)
            self._pending = ""


def install():
    import sys
    sys.stdout = HostLogWriter(LogLevel.INFO, "<stdout>")
    sys.stderr = HostLogWriter(LogLevel.WARN, "<stderr>")
    sys.__stdout__ = sys.stdout
    sys.__stderr__ = sys.stderr
