"""Posts a message stamped with the time it was posted, then does what the
option `then` says: overflow the wasm stack (a trap), spin ignoring
request_exit() (interrupted after the exit grace), fill the memory (a
MemoryError), compute for `seconds`, or post `count` messages with
`gap_ms` of computation between them."""

import sys
import time

from syslogng import LogMessage, LogSource


class Node:
    def __init__(self, inner):
        self.inner = inner

    def __repr__(self):
        # Python and C frames in turn: deep enough, the wasm stack runs out.
        return "N(%r)" % (self.inner,)


def busy(seconds):
    """Pure computation, with no call into sandlog, for `seconds`."""
    end = time.monotonic() + seconds
    x = 0
    while time.monotonic() < end:
        x = (x * 7 + 1) % 1000003
    return x


class PostThen(LogSource):
    def init(self, options):
        self.then = options["then"]
        self.seconds = float(options.get("seconds", "3"))
        self.count = int(options.get("count", "1"))
        self.gap = float(options.get("gap_ms", "0")) / 1000
        self.exit = False
        return True

    def post(self, text):
        msg = LogMessage(text)
        msg["posted_at"] = repr(time.time())
        self.post_message(msg)

    def run(self):
        if self.then == "overflow":
            # Built before posting, so that the trap follows the post at once.
            sys.setrecursionlimit(10**6)
            node = None
            for _ in range(500000):
                node = Node(node)
            self.post("posted before overflow")
            repr(node)
        elif self.then == "spin":
            self.post("posted before spin")
            while True:
                pass
        elif self.then == "oom":
            self.post("posted before oom")
            chunks = []
            while True:
                chunks.append(bytearray(1 << 20))
        elif self.then == "compute":
            self.post("posted before compute")
            busy(self.seconds)
            self.post("computed")
        elif self.then == "gaps":
            for i in range(self.count):
                self.post(f"gap {i}")
                busy(self.gap)
        while not self.exit:
            time.sleep(0.05)

    def request_exit(self):
        # A spinning source ignores it, as the test wants.
        self.exit = True
