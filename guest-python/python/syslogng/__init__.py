"""The AxoSyslog/syslog-ng Python API, as sandlog provides it.

Scripts written for AxoSyslog's python() source import from here:
``from syslogng import LogSource, LogMessage``.
"""

from .fetcher import LogFetcher, LogFetcherResult
from .logger import Logger
from .message import LogMessage
from .persist import Persist
from .source import LogSource

__all__ = ["LogFetcher", "LogFetcherResult", "LogMessage", "LogSource", "Logger", "Persist"]
