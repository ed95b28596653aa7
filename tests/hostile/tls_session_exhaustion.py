"""Opens TLS sessions in the host until it runs out of handles."""

from syslogng import LogSource
from wit_world.imports import tls

EXPECT = ["than its policy's max_handles allows"]


class Hostile(LogSource):
    def run(self):
        settings = tls.Settings(False, 2, True, 0, 0, [], [], True)
        sessions = []
        while True:
            sessions.append(tls.Session.open(settings, None, "example.test"))

    def request_exit(self):
        pass
