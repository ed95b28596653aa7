"""Parses raw syslog lines with LogMessage.parse(raw, self.parse_options)
and posts each result, tagged with the line's index in `line`."""

from syslogng import LogMessage, LogSource

# RFC 3164 lines carry no year: the test passes their dates as options
# ("Mmm dd"): today's date, and another date whose year the two
# implementations may guess differently (see the test).
LINES_5424 = [
    # RFC 5424: structured data with an escaped ']', a BOM before MESSAGE
    b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 77 ID47 '
    b'[exampleSDID@32473 iut="3" eventSource="App\\]x"] \xef\xbb\xbfAn application event',
    # RFC 5424: two SD elements, an offset, nil PROCID and MSGID
    b'<14>1 2024-02-29T23:59:59.123456-07:00 host5424 app - - '
    b'[a@1 x="1"][b@2 y="two words"] two elements',
    # RFC 5424: no structured data, everything nil but the timestamp
    b'<13>1 2024-06-01T00:00:00Z - - - - - only the message',
]


def lines_3164(today, ahead):
    return [
        # RFC 3164 with HOST, a PID-less tag
        b"<34>%s 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8" % today,
        # RFC 3164 with a PID
        b"<30>%s 04:05:06 web01 nginx[1234]: GET /index.html 200" % today,
        # RFC 3164 dated away from today: which year is it?
        b"<13>%s 12:00:00 web02 cron[1]: ahead" % ahead,
    ]


class Parse(LogSource):
    def init(self, options):
        self.lines = LINES_5424 + lines_3164(
            options["today"].encode(), options["ahead"].encode())
        return True

    def run(self):
        for index, line in enumerate(self.lines):
            msg = LogMessage.parse(line, self.parse_options)
            msg["line"] = str(index)
            self.post_message(msg)

    def request_exit(self):
        pass
