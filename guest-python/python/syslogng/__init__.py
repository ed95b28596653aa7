"""The AxoSyslog/syslog-ng Python API, as sandlog provides it.

Scripts written for AxoSyslog's python() source import from here:
``from syslogng import LogSource, LogMessage``.
"""

from .ack import BatchedAckTracker, ConsecutiveAckTracker, InstantAckTracker
from .fetcher import LogFetcher, LogFetcherResult
from .logger import Logger
from .message import LogMessage
from .persist import Persist
from .source import LogSource

__all__ = [
    "BatchedAckTracker", "ConsecutiveAckTracker", "InstantAckTracker", "LogFetcher",
    "LogFetcherResult", "LogMessage", "LogSource", "Logger", "Persist",
]
