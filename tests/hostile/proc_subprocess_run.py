"""subprocess.run(["/bin/sh", "-c", "id"])."""

from syslogng import LogSource

EXPECT = [
    "run() raised: OSError",
    "run() raised: PermissionError",
    "run() raised: FileNotFoundError",
    "run() raised: NotImplementedError",
    "run() raised: ModuleNotFoundError",
    "run() raised: AttributeError",
    "run() raised: RuntimeError: can't",
]


class Hostile(LogSource):
    def run(self):
        import subprocess

        out = subprocess.run(["/bin/sh", "-c", "id"], capture_output=True)
        raise RuntimeError("LEAK: subprocess ran: %r" % (out,))

    def request_exit(self):
        pass
