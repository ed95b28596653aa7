"""Posts ten messages, then empties runtime's name/value buffers and pads
its counts, so the next flush hands the host a block that does not add up."""

from _sandlog import runtime

from syslogng import LogMessage, LogSource

EXPECT = ["tamper-contained-cleared-buffers", "malformed message block"]


class Hostile(LogSource):
    def run(self):
        for i in range(10):
            self.post_message(LogMessage("kept %d" % i))
        runtime._names.clear()
        runtime._values.clear()
        runtime._counts.extend([5] * 10)
        runtime.flush()
        raise LookupError("tamper-contained-cleared-buffers")

    def request_exit(self):
        pass
