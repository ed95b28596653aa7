"""Fills its state directory through Persist and a capped read-write
mount, and reports what it met."""

import errno
import os

from syslogng import LogMessage, LogSource, Persist


class FillDisk(LogSource):
    def run(self):
        store = Persist("fill")
        store["small"] = "kept"
        try:
            store["big"] = "y" * 400_000
            self.post_message(LogMessage("persist: no error"))
        except OSError as e:
            self.post_message(LogMessage(f"persist: {errno.errorcode[e.errno]}"))
        self.post_message(LogMessage(f"persist after: {'big' in store} {store['small']}"))
        self.post_message(LogMessage(f"persist leftovers: {sorted(os.listdir('/state/persist'))}"))
        written = 0
        try:
            with open("/data/fill", "wb", buffering=0) as f:
                for _ in range(1000):
                    f.write(b"z" * 10_000)
                    written += 10_000
            self.post_message(LogMessage("mount: no error"))
        except OSError as e:
            self.post_message(LogMessage(f"mount: {errno.errorcode[e.errno]} after {written}"))
        try:
            os.truncate("/data/fill", 1 << 40)
            self.post_message(LogMessage("truncate: no error"))
        except OSError as e:
            self.post_message(LogMessage(f"truncate: {errno.errorcode[e.errno]}"))
        os.unlink("/data/fill")
        with open("/data/again", "wb") as f:
            f.write(b"after unlinking, the space is there again")
        self.post_message(LogMessage("still running"))

    def request_exit(self):
        pass
