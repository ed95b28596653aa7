"""Walks every object the guest holds (the collector's list and,
transitively, what each refers to) before the script has made many of its
own, and reports how many there are and how many of them are not immortal
(whose reference count an instance writes when it uses them). Also uses a
few snapshot objects as a script would, and reports that they still work."""

import gc
import json
import socket
import sys

from syslogng import LogMessage, LogSource

IMMORTAL = 1 << 30


class SnapshotObjects(LogSource):
    def run(self):
        seen = {}
        todo = gc.get_objects()
        while todo:
            fresh = []
            for o in todo:
                if id(o) not in seen:
                    seen[id(o)] = o
                    fresh.append(o)
            todo = gc.get_referents(*fresh)
        mortal = sum(1 for o in seen.values() if sys.getrefcount(o) < IMMORTAL)
        total = len(seen)
        del seen, fresh
        # Immortal objects still behave: a module's function, a class used
        # and dropped many times, a socket made and closed.
        text = json.dumps({"k": [1, 2, 3]})
        for _ in range(1000):
            m = LogMessage("x")
            del m
        s = socket.socket()
        s.close()
        msg = LogMessage("objects")
        msg["total"] = str(total)
        msg["mortal"] = str(mortal)
        msg["json"] = text
        self.post_message(msg)

    def request_exit(self):
        pass
