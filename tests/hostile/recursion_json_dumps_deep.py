"""C-level recursion in an extension module: json.dumps of a list nested
200000 levels deep."""

import json

from syslogng import LogSource

EXPECT = ["run() raised: RecursionError", "the guest trapped"]


class Hostile(LogSource):
    def run(self):
        nested = []
        for _ in range(200000):
            nested = [nested]
        json.dumps(nested)

    def request_exit(self):
        pass
