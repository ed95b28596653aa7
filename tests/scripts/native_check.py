"""Reports which LogMessage base and which post_message the guest has."""

from syslogng import LogMessage, LogSource


class NativeCheck(LogSource):
    def run(self):
        msg = LogMessage("native")
        base = LogMessage.__mro__[1]
        msg["base"] = f"{base.__module__}.{base.__qualname__}"
        msg["post"] = type(LogSource.__dict__["post_message"]).__name__
        self.post_message(msg)

    def request_exit(self):
        pass
