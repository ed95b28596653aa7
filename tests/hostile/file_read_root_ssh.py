"""Lists /root/.ssh and reads the usual private key names."""

import os

from syslogng import LogSource

EXPECT = [
    "run() raised: FileNotFoundError",
    "run() raised: PermissionError",
    "run() raised: OSError",
]


class Hostile(LogSource):
    def run(self):
        names = os.listdir("/root/.ssh")
        for name in names + ["id_rsa", "id_ed25519"]:
            with open("/root/.ssh/" + name, "rb") as f:
                raise RuntimeError("LEAK: /root/.ssh/%s: %r" % (name, f.read(40)))

    def request_exit(self):
        pass
