"""Log injection: an exception class whose name and message contain newlines
and a fake sandlog log line claiming the healthy source failed."""

from syslogng import LogSource

EXPECT = ["run() raised: Fake"]

FAKE = "\n2026-01-01T00:00:00Z ERROR source{source=healthy}: run() raised: Forged"
Forged = type("Fake" + FAKE, (Exception,), {})


class Hostile(LogSource):
    def run(self):
        print("innocent" + FAKE)
        raise Forged("message" + FAKE)

    def request_exit(self):
        pass
