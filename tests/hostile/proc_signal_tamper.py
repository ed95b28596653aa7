"""Ignores SIGTERM/SIGINT in the guest, arms alarm/setitimer and raises
signals at itself; sandlog's own SIGTERM handling must be unaffected."""

import signal
import time

from syslogng import LogSource

EXPECT = ["tamper-contained-signal"]

ATTEMPTS = [
    ("signal", (signal.SIGTERM, signal.SIG_IGN)),
    ("signal", (signal.SIGINT, signal.SIG_IGN)),
    ("alarm", (1,)),
    ("setitimer", (getattr(signal, "ITIMER_REAL", 0), 0.1)),
    ("raise_signal", (signal.SIGTERM,)),
    ("pthread_kill", (0, signal.SIGTERM)),
]


class Hostile(LogSource):
    def init(self, options):
        self.exit = False
        return True

    def run(self):
        for name, args in ATTEMPTS:
            try:
                getattr(signal, name)(*args)
            except (AttributeError, OSError, ValueError, KeyboardInterrupt):
                pass
        while not self.exit:
            time.sleep(0.05)
        raise LookupError("tamper-contained-signal")

    def request_exit(self):
        self.exit = True
