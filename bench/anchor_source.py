# The throughput anchor's source (../shared/bench/syslog-ng-python-source.sh):
# posts options["n"] messages, then waits for its exit. bench/throughput.sh
# runs it under syslog-ng and sandlog; bench/post_cost.sh under syslog-ng.
from syslogng import LogSource, LogMessage
class Bench(LogSource):
    def init(self, options):
        self.n = int(options["n"]); self.exit = False
        return True
    def run(self):
        for i in range(self.n):
            msg = LogMessage(b"hello %d" % i)
            msg["seq"] = str(i)
            self.post_message(msg)
        import time
        while not self.exit:
            time.sleep(0.01)
    def request_exit(self):
        self.exit = True
