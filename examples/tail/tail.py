"""A fetcher that follows a line-oriented file under a read-only mount and
keeps its offset in Persist, so that after a restart it resumes exactly
after the last line it posted."""

from syslogng import LogFetcher, LogMessage, Persist


class Tail(LogFetcher):
    def init(self, options):
        self.path = options["path"]
        self.state = Persist(f"tail:{self.path}", defaults={"offset": 0})
        self.file = None
        return True

    def open(self):
        try:
            self.file = open(self.path, "rb")
        except OSError:
            return False  # not there yet: tried again after time_reopen
        self.file.seek(self.state["offset"])
        return True

    def close(self):
        if self.file is not None:
            self.file.close()
            self.file = None

    def fetch(self):
        line = self.file.readline()
        if not line.endswith(b"\n"):
            # Nothing new, or a line still being written: read it again later.
            self.file.seek(self.state["offset"])
            return LogFetcher.NO_DATA, None
        # Durable before the message is handed on: a stop posts everything
        # fetched, so a restart neither repeats nor skips a line.
        self.state["offset"] = self.file.tell()
        msg = LogMessage(line.rstrip(b"\n"))
        msg["offset"] = self.state["offset"]
        self.set_transport_name("file")
        return LogFetcher.SUCCESS, msg
