"""A fetcher that exercises every fetch() result and counts the calls the
host's loop makes."""

from syslogng import LogFetcher, LogMessage

PLAN = [
    "success", "success", "no_data", "try_again", "success",
    "error", "success", "not_connected", "success", "bad_tuple", "success",
]


class Fetcher(LogFetcher):
    def init(self, options):
        self.opens = 0
        self.closes = 0
        self.step = 0
        self.seq = 0
        return True

    def open(self):
        self.opens += 1
        print(f"open #{self.opens}")
        return self.opens != 1  # the first open fails: retried after time_reopen

    def close(self):
        self.closes += 1
        print(f"close #{self.closes}")

    def fetch(self):
        if self.step >= len(PLAN):
            return LogFetcher.NO_DATA, None
        what = PLAN[self.step]
        self.step += 1
        if what == "success":
            msg = LogMessage(f"fetched {self.seq}")
            msg["opens"] = self.opens
            msg["closes"] = self.closes
            self.seq += 1
            return LogFetcher.SUCCESS, msg
        if what == "bad_tuple":
            return "not a tuple"
        return {
            "no_data": LogFetcher.FETCH_NO_DATA,
            "try_again": LogFetcher.TRY_AGAIN,
            "error": LogFetcher.ERROR,
            "not_connected": LogFetcher.NOT_CONNECTED,
        }[what], None

    def request_exit(self):
        print("fetcher request_exit")
