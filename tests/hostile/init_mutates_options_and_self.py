"""init() clears its options and replaces run and request_exit on its own
class with non-callables, after the loader checked them."""

from syslogng import LogSource

EXPECT = ["run() raised: TypeError"]


class Hostile(LogSource):
    def init(self, options):
        options.clear()
        type(self).run = 42
        type(self).request_exit = None
        return True

    def run(self):
        pass

    def request_exit(self):
        pass
