"""raise SystemExit with a message in run()."""

from syslogng import LogSource

EXPECT = ["run() raised: SystemExit: hostile-bye"]


class Hostile(LogSource):
    def run(self):
        raise SystemExit("hostile-bye")

    def request_exit(self):
        pass
