"""A fetcher that goes through NO_DATA and TRY_AGAIN and posts a fixed
count of messages with SUCCESS, then has no more data (syslog-ng 3.38 cannot
stop itself, so both runs are stopped by a signal once every message is
out)."""

from syslogng import LogFetcher, LogMessage

COUNT = 5
PLAN = ["no_data", "success", "try_again", "success", "no_data", "success",
        "try_again", "try_again", "success", "success"]


# syslog-ng 3.38's LogFetcher has only the FETCH_* names (AxoSyslog adds
# SUCCESS, NO_DATA, ... as aliases); both have these.
SUCCESS = LogFetcher.FETCH_SUCCESS
NO_DATA = LogFetcher.FETCH_NO_DATA
TRY_AGAIN = LogFetcher.FETCH_TRY_AGAIN


class Fetcher(LogFetcher):
    def init(self, options):
        self.opens = 0
        self.closes = 0
        self.fetches = 0
        self.step = 0
        self.seq = 0
        self.prefix = options["prefix"]
        return True

    def open(self):
        self.opens += 1
        return True

    def close(self):
        self.closes += 1

    def fetch(self):
        self.fetches += 1
        if self.step >= len(PLAN):
            return NO_DATA, None
        what = PLAN[self.step]
        self.step += 1
        if what == "no_data":
            return NO_DATA, None
        if what == "try_again":
            return TRY_AGAIN, None
        msg = LogMessage("%s %d" % (self.prefix, self.seq))
        msg["seq"] = str(self.seq)
        msg["opens"] = str(self.opens)
        msg["closes"] = str(self.closes)
        msg["fetches"] = str(self.fetches)
        msg["step"] = str(self.step)
        msg["has_short_names"] = str(hasattr(LogFetcher, "NO_DATA"))
        self.seq += 1
        return SUCCESS, msg

    def request_exit(self):
        pass
