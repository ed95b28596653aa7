"""Parses raw syslog lines with LogMessage.parse() and posts the results."""

from syslogng import LogMessage, LogSource

LINES = [
    b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 77 ID47 '
    b'[exampleSDID@32473 iut="3" eventSource="App\\]x"] \xef\xbb\xbfAn application event',
    b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
    b"<13>Nov  5 10:00:00 prog[123]: no host here",
    b"not syslog at all",
]


class ParseCheck(LogSource):
    def init(self, options):
        try:
            LogMessage.parse(LINES[0], self.parse_options)
        except TypeError:
            self.early = "TypeError"
        else:
            self.early = "parsed"
        return True

    def run(self):
        for line in LINES:
            msg = LogMessage.parse(line, self.parse_options)
            msg["early"] = self.early
            self.post_message(msg)

    def request_exit(self):
        pass
