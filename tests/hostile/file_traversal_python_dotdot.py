"""Path traversal out of the read-only stdlib mount: /python/../../etc/passwd
and the same with os.path tricks."""

from syslogng import LogSource

EXPECT = [
    "run() raised: FileNotFoundError",
    "run() raised: PermissionError",
    "run() raised: OSError",
]


class Hostile(LogSource):
    def run(self):
        for path in ("/python/../../etc/passwd", "/python/./../etc/hostname",
                     "/python/json/../../../../../../etc/passwd"):
            with open(path) as f:
                raise RuntimeError("LEAK: %s readable: %r" % (path, f.read(40)))

    def request_exit(self):
        pass
