"""Forges the buffer the host reads after an interrupt: pairs under
host-owned names, an absurd pair count, a name that is not a str, then
spins past the exit grace so that the host takes the buffer from memory."""

from _sandlog import runtime

from syslogng import LogMessage, LogSource

EXPECT = ["did not return within the exit grace"]


class Hostile(LogSource):
    def run(self):
        self.post_message(LogMessage("buffered before the forgery"))
        runtime._names.extend(["SOURCE", "PRI", "HOST_FROM", "MESSAGE"])
        runtime._values.extend([b"healthy", b"0", b"elsewhere", b"forged pairs"])
        runtime._counts.append(4)
        runtime._names.append(12345)
        runtime._values.append("not bytes")
        runtime._counts.append(1)
        runtime._counts.append(10**9)
        runtime._counts.append(0xFFFFFFFF)
        while True:
            pass

    def request_exit(self):
        pass
