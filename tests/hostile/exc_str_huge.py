"""run() raises an exception whose message is 8 MiB long: the host log must
cope (and should cut it)."""

from syslogng import LogSource

EXPECT = ["run() raised: HugeMessage", "run() raised: MemoryError", "the guest trapped"]


class HugeMessage(Exception):
    pass


class Hostile(LogSource):
    def run(self):
        raise HugeMessage("H" * (8 << 20))

    def request_exit(self):
        pass
