"""raise KeyboardInterrupt in run(), as if the guest had received SIGINT."""

from syslogng import LogSource

EXPECT = ["run() raised: KeyboardInterrupt"]


class Hostile(LogSource):
    def run(self):
        raise KeyboardInterrupt

    def request_exit(self):
        pass
