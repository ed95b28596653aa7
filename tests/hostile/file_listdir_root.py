"""Lists "/" and walks up from /python with ".." (up to 10 levels): nothing but
the stdlib mount may be visible."""

import os

from syslogng import LogSource

EXPECT = [
    "run() raised: LookupError: fs-root-contained",
    "run() raised: FileNotFoundError",
    "run() raised: PermissionError",
    "run() raised: OSError",
]
STDLIB_MARKERS = {"json", "os.py", "encodings"}


class Hostile(LogSource):
    def run(self):
        seen = set(os.listdir("/"))
        for up in range(1, 11):
            path = "/python" + "/.." * up
            names = set(os.listdir(path))
            if not names & STDLIB_MARKERS:
                seen |= names
        if seen - {"python"}:
            raise RuntimeError("LEAK: host directories visible: %r" % sorted(seen)[:20])
        raise LookupError("fs-root-contained")

    def request_exit(self):
        pass
