"""Reads a counter from a Persist store, increments it and posts what it
read: run twice with the same persist state, the second run sees the first
run's value."""

from syslogng import LogMessage, LogSource, Persist


class Counter(LogSource):
    def run(self):
        store = Persist("differential_counter", defaults={"runs": 0, "label": "initial"})
        runs = store["runs"]
        label = store["label"]
        msg = LogMessage("persisted")
        msg["runs_before"] = str(runs)
        msg["runs_type"] = type(runs).__name__
        msg["label_before"] = repr(label)
        msg["keys"] = repr(sorted(store))
        msg["missing"] = "no KeyError"
        try:
            store["no_such_key"]
        except KeyError:
            msg["missing"] = "KeyError"
        store["runs"] = runs + 1
        store["label"] = "after run %d" % (runs + 1)
        msg["runs_after"] = str(store["runs"])
        self.post_message(msg)

    def request_exit(self):
        pass
