"""Memory bomb: doubles a str with s = s + s until the allocation fails; the
interpreter must fail with MemoryError (or trap), not corrupt its heap."""

from syslogng import LogSource

# CPython 3.14 for WASI does not always recover cleanly from `s + s`
# failing at the memory ceiling: the error can surface as a TypeError with
# empty type names, or the guest traps. Either way it stays in the sandbox.
EXPECT = ["run() raised: MemoryError", "the guest trapped", "run() raised: TypeError: unsupported operand"]


class Hostile(LogSource):
    def run(self):
        s = "x" * (1 << 16)
        while True:
            s = s + s

    def request_exit(self):
        pass
