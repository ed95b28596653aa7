"""gc tampering: unfreezes the loader's frozen heap, sets threshold 1, and
empties every list and dict the sandlog internals hold (but not builtins)."""

import gc
import sys

from syslogng import LogMessage, LogSource

EXPECT = ["tamper-contained-gc", "run() raised", "the guest trapped"]


class Hostile(LogSource):
    def run(self):
        gc.unfreeze()
        gc.set_threshold(1, 1, 1)
        gc.collect()
        for name in ("_sandlog.runtime", "_sandlog.blocking", "syslogng.message"):
            for key, value in list(vars(sys.modules[name]).items()):
                if type(value) in (list, dict) and not key.startswith("__"):
                    value.clear()
        gc.collect()
        self.post_message(LogMessage("after gc tampering"))
        raise LookupError("tamper-contained-gc")

    def request_exit(self):
        pass
