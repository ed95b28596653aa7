"""Feeds TLS sessions in the host garbage and an endless stream: 64 MiB in
1 MiB steps, into one session and into fresh ones, and an oversized
plaintext write. Every step must fail fast with a TLS error; the host
keeps at most one step's bytes."""

import os

from syslogng import LogSource
from wit_world.imports import tls
from componentize_py_types import Err

EXPECT = ["run() raised: LookupError: tls-garbage-refused"]

SETTINGS = tls.Settings(False, 2, True, 0, 0, [], [], True)


class Hostile(LogSource):
    def run(self):
        junk = os.urandom(1 << 20)
        hexed, text = junk.hex(), junk.decode("latin-1")
        refused = 0
        one = tls.Session.open(SETTINGS, None, "example.test")
        for i in range(64):
            session = one if i % 2 else tls.Session.open(SETTINGS, None, "example.test")
            try:
                session.step(hexed, False, text, 1 << 30)
            except Err as e:
                if e.value.kind not in (tls.ErrorKind.SSL, tls.ErrorKind.EOF):
                    raise RuntimeError("LEAK: odd error %r" % (e.value,))
                refused += 1
                continue
            raise RuntimeError("LEAK: garbage was taken as TLS at step %d" % i)
        if refused != 64:
            raise RuntimeError("LEAK: only %d of 64 steps refused" % refused)
        raise LookupError("tls-garbage-refused")

    def request_exit(self):
        pass
