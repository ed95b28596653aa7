"""Posts N bookmarked messages (bookmark = the message's number, from 1)
through the ack tracker named in the options, and checks in every callback
that the messages it acknowledges are already in the destination file
(mounted read-only at /out). deinit() prints what it saw."""

import json

from syslogng import (BatchedAckTracker, ConsecutiveAckTracker,
                      InstantAckTracker, LogMessage, LogSource)


def written():
    with open("/out/" + OUT) as f:
        return {json.loads(line)["n"] for line in f}


class Acks(LogSource):
    def init(self, options):
        global OUT
        OUT = options["out"]
        self.count = int(options["count"])
        self.kind = options["tracker"]
        self.calls = []
        self.unwritten = []
        if self.kind == "instant":
            self.ack_tracker = InstantAckTracker(self.one)
        elif self.kind == "consecutive":
            self.ack_tracker = ConsecutiveAckTracker(self.one)
        else:
            self.ack_tracker = BatchedAckTracker(int(options.get("timeout", "600000")), 50, self.many)
        return True

    def check(self, bookmarks):
        seen = written()
        self.unwritten.extend(b for b in bookmarks if b not in seen)

    def one(self, bookmark):
        self.calls.append(bookmark)
        self.check([bookmark])

    def many(self, bookmarks):
        self.calls.append(list(bookmarks))
        self.check(bookmarks)

    def run(self):
        for i in range(1, self.count + 1):
            msg = LogMessage(f"m{i}", bookmark=i)
            msg["n"] = i
            self.post_message(msg)
            if i % 100 == 0:
                # A contact at which the acks so far come in.
                import time
                time.sleep(0.01)

    def request_exit(self):
        pass

    def deinit(self):
        print(f"ACKS {self.kind} {json.dumps({'calls': self.calls, 'unwritten': self.unwritten})}")
