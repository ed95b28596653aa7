"""Looks at os.environ, os.getenv and the argv it was given: no host variable
may be visible."""

import os
import sys

from syslogng import LogSource

EXPECT = ["run() raised: LookupError: env-empty-ok"]


class Hostile(LogSource):
    def run(self):
        env = dict(os.environ)
        probes = [os.getenv(k) for k in ("HOME", "PATH", "USER", "RUST_LOG", "PWD")]
        if env or any(probes):
            raise RuntimeError("env leak: %r" % sorted(env)[:20])
        if any("/" in a for a in sys.argv):
            raise RuntimeError("argv leak: %r" % sys.argv)
        raise LookupError("env-empty-ok")

    def request_exit(self):
        pass
