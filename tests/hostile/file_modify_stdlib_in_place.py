"""Tries to append to, truncate, rename, touch and delete existing stdlib
files, and to create a directory in the mount (chmod is a no-op in WASI)."""

import os

from syslogng import LogSource

EXPECT = ["run() raised: PermissionError", "run() raised: OSError"]


class Hostile(LogSource):
    def run(self):
        attempts = [
            lambda: open("/python/json/__init__.py", "a").write("# owned\n"),
            lambda: os.truncate("/python/json/__init__.py", 0),
            lambda: os.rename("/python/json/decoder.py", "/python/json/x.py"),
            lambda: os.utime("/python/json/encoder.py", (0, 0)),
            lambda: os.remove("/python/json/scanner.py"),
            lambda: os.mkdir("/python/owned"),
        ]
        errors = []
        for attempt in attempts:
            try:
                attempt()
            except OSError as e:
                errors.append(e)
                continue
            raise RuntimeError("LEAK: the stdlib mount is writable")
        raise errors[0]

    def request_exit(self):
        pass
