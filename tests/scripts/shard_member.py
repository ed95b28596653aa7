from syslogng import LogMessage, LogSource


class Member(LogSource):
    """Posts one message and returns: one source of a sharded fleet."""

    def run(self):
        self.post_message(LogMessage("here"))

    def request_exit(self):
        pass
