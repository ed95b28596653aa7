"""Probes files, environment, memory and message size inside the sandbox;
posts one message per probe with its outcome."""

import os

from syslogng import LogMessage, LogSource


def attempt(fn):
    try:
        result = fn()
        return "ok" if result is None else str(result)
    except BaseException as e:  # noqa: BLE001 - the outcome is the point
        return type(e).__name__


def write(path):
    with open(path, "w") as f:
        f.write("x")


def read(path):
    with open(path) as f:
        return f.read().strip()


class SandboxCheck(LogSource):
    def run(self):
        probes = {
            "read_mount": lambda: read("/data/in.txt"),
            "write_ro_mount": lambda: write("/data/new.txt"),
            "write_rw_mount": lambda: write("/out/new.txt"),
            "etc_passwd": lambda: read("/etc/passwd"),
            "traversal": lambda: read("/data/../../etc/passwd"),
            "symlink_escape": lambda: read("/data/escape/passwd"),
            "list_root": lambda: ",".join(sorted(os.listdir("/"))),
            "write_stdlib": lambda: write("/python/evil.py"),
            "environ": lambda: ",".join(f"{k}={v}" for k, v in sorted(os.environ.items())),
            "memory_bomb": lambda: len(bytearray(512 * 1024 * 1024)),
            "after_bomb": lambda: len(bytearray(1024 * 1024)),
            "oversized": lambda: self.post_message(LogMessage(b"x" * 5000)),
            "subprocess": lambda: __import__("subprocess").run(["true"]),
            "thread": lambda: __import__("threading").Thread(target=print).start(),
            "ctypes": lambda: __import__("ctypes"),
        }
        for name, probe in probes.items():
            msg = LogMessage(name)
            msg["outcome"] = attempt(probe)
            self.post_message(msg)

    def request_exit(self):
        pass
