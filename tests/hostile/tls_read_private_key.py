"""Tries to reach an identity's private key: the files under /identities,
path tricks on the identity names, and the host's TLS imports called
directly; none of them may hand out a key."""

import os

from syslogng import LogSource
from wit_world.imports import tls
from componentize_py_types import Err

EXPECT = ["run() raised: LookupError: private-keys-stay-in-the-host"]


class Hostile(LogSource):
    def run(self):
        for path in ("/identities/web/key.pem", "/identities/web/cert.pem", "/identities"):
            try:
                if os.path.isdir(path):
                    raise RuntimeError("LEAK: %s is a directory: %r" % (path, os.listdir(path)))
                with open(path, "rb") as f:
                    raise RuntimeError("LEAK: read %s: %r" % (path, f.read(64)))
            except OSError:
                pass
        for cert, key in (("/identities/../web/cert.pem", None), ("/identities/web/cert.pem", "/etc/key.pem"),
                          ("/identities//cert.pem", None), ("/identities/web/cert.pem", None)):
            try:
                identity = tls.Identity.granted(cert, key)
            except Err as e:
                if e.value.kind != tls.ErrorKind.DENIED:
                    raise RuntimeError("LEAK: %r gave %r" % (cert, e.value))
                continue
            raise RuntimeError("LEAK: an identity was granted: %r" % (dir(identity),))
        raise LookupError("private-keys-stay-in-the-host")

    def request_exit(self):
        pass
