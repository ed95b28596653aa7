"""Tries to fill the host's disk through the state directory: big writes,
a sparse file grown by truncate, positioned writes, many small files and
directories."""

import errno
import os
import time

from syslogng import LogSource

EXPECT = ["CONTAINED: every attack on /state failed within max_state_size"]
WAIT = 20

CAP = 8 * 1024 * 1024  # the hostile policy's max_state_size
ROOT = "/state/fill"


def stored():
    total = 0
    for dirpath, dirnames, filenames in os.walk(ROOT):
        for name in filenames:
            total += os.stat(os.path.join(dirpath, name)).st_size
    return total


def clear():
    for dirpath, dirnames, filenames in os.walk(ROOT, topdown=False):
        for name in filenames:
            os.unlink(os.path.join(dirpath, name))
        for name in dirnames:
            os.rmdir(os.path.join(dirpath, name))


def big_writes():
    chunk = b"x" * (1024 * 1024)
    with open(ROOT + "/big", "wb", buffering=0) as f:
        for _ in range(1024):
            f.write(chunk)


def sparse():
    with open(ROOT + "/sparse", "wb"):
        pass
    os.truncate(ROOT + "/sparse", 64 * 1024 * 1024 * 1024)


def positioned():
    fd = os.open(ROOT + "/pos", os.O_WRONLY | os.O_CREAT)
    try:
        for i in range(1024):
            os.pwrite(fd, b"y" * (1024 * 1024), i * 1024 * 1024)
    finally:
        os.close(fd)


def many_files():
    for i in range(100_000):
        with open(f"{ROOT}/f{i}", "wb") as f:
            f.write(b"z")


def many_dirs():
    for i in range(100_000):
        os.mkdir(f"{ROOT}/d{i}")


class Hostile(LogSource):
    def init(self, options):
        self.exit = False
        return True

    def run(self):
        os.makedirs(ROOT, exist_ok=True)
        results = []
        for attack in (big_writes, sparse, positioned, many_files, many_dirs):
            try:
                attack()
                results.append((attack.__name__, "no error", stored()))
            except OSError as e:
                results.append((attack.__name__, errno.errorcode.get(e.errno, e.errno), stored()))
            clear()
        print("attacks:", results)
        # A write through a file object fails with EIO: the guest's C
        # library reports every failed stream write so.
        if all(err in ("ENOSPC", "EIO") and size <= CAP for _, err, size in results):
            print("CONTAINED: every attack on /state failed within max_state_size")
        while not self.exit:
            time.sleep(0.05)

    def request_exit(self):
        self.exit = True
