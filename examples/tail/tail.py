"""A fetcher that follows a line-oriented file under a read-only mount and
keeps its position in Persist. Each message carries the offset after its
line as its bookmark; the ack tracker stores an offset only once the
destinations have written every line before it. After a restart the
fetcher resumes exactly there: a clean stop neither repeats nor skips a
line, and even a crash never skips one (it may repeat the lines that were
not yet written)."""

from syslogng import ConsecutiveAckTracker, LogFetcher, LogMessage, Persist


class Tail(LogFetcher):
    def init(self, options):
        self.path = options["path"]
        self.state = Persist(f"tail:{self.path}", defaults={"offset": 0})
        self.ack_tracker = ConsecutiveAckTracker(self.written)
        # Where reading goes on: ahead of the stored offset by the lines
        # still on their way to the destinations.
        self.position = self.state["offset"]
        self.file = None
        return True

    def written(self, offset):
        self.state["offset"] = offset

    def open(self):
        try:
            self.file = open(self.path, "rb")
        except OSError:
            return False  # not there yet: tried again after time_reopen
        self.file.seek(self.position)
        return True

    def close(self):
        if self.file is not None:
            self.file.close()
            self.file = None

    def fetch(self):
        line = self.file.readline()
        if not line.endswith(b"\n"):
            # Nothing new, or a line still being written: read it again later.
            self.file.seek(self.position)
            return LogFetcher.NO_DATA, None
        self.position = self.file.tell()
        msg = LogMessage(line.rstrip(b"\n"), bookmark=self.position)
        msg["offset"] = self.position
        self.set_transport_name("file")
        return LogFetcher.SUCCESS, msg
