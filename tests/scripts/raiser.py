from syslogng import LogMessage, LogSource


class Raiser(LogSource):
    def run(self):
        for i in range(3):
            self.post_message(LogMessage(f"before the error {i}"))
        self.fail_here()

    def fail_here(self):
        raise ValueError("something broke in the script")

    def request_exit(self):
        pass
