from syslogng import LogMessage, LogSource


class Flood(LogSource):
    def init(self, options):
        self.n = int(options["n"])
        self.batch = int(options.get("batch", "0"))
        if self.batch:
            self.auto_close_batches = False
        return True

    def run(self):
        for i in range(self.n):
            msg = LogMessage(b"flood %d" % i)
            msg["seq"] = str(i)
            self.post_message(msg)
            if self.batch and i % self.batch == self.batch - 1:
                self.close_batch()
        if self.batch:
            self.close_batch()

    def request_exit(self):
        pass
