"""Sets a 24 MiB transport name through the host import directly (the
syslogng package refuses it), then posts: the name would be written into
every message, multiplying into gigabytes."""

from syslogng import LogMessage, LogSource
from _sandlog import hostcalls

EXPECT = ["refused a transport name over 255 bytes"]


class Hostile(LogSource):
    def run(self):
        try:
            self.set_transport_name("t" * 300)
        except ValueError:
            pass
        else:
            raise RuntimeError("LEAK: the package took a 300-byte transport name")
        hostcalls.set_transport_name("x" * (24 << 20))
        for i in range(500):
            self.post_message(LogMessage("after %d" % i))

    def request_exit(self):
        pass
