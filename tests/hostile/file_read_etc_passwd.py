"""Reads the host's /etc/passwd; if it were readable, its first line would be
posted and a leak marker raised."""

from syslogng import LogMessage, LogSource

EXPECT = [
    "run() raised: FileNotFoundError",
    "run() raised: PermissionError",
    "run() raised: OSError",
]


class Hostile(LogSource):
    def run(self):
        with open("/etc/passwd") as f:
            self.post_message(LogMessage(f.readline()))
        raise RuntimeError("LEAK: /etc/passwd is readable")

    def request_exit(self):
        pass
