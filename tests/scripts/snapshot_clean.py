"""Reports what a fresh instance finds of the state that the snapshot's
warm-up touched (a throwaway source's load, init(), run() and exit, an
asyncio loop, against a stand-in host): the host calls are the real ones
again, logging is on, no event loop runs and no socket pair is open, the
exit state and the message counts are a fresh source's."""

import asyncio
import logging
import socket

from _sandlog import hostcalls, runtime, socketpair
from syslogng import LogMessage, LogSource
from wit_world.imports import host as generated

CALLS = ("post_messages", "sleep", "prepare_wait", "poll", "register_pending", "log")


class SnapshotClean(LogSource):
    def init(self, options):
        self.exit = False
        return True

    def run(self):
        found = {
            "host_calls": ",".join(n for n in CALLS if getattr(hostcalls, n) is not getattr(generated, n)) or "real",
            "logging_disabled": str(logging.root.manager.disable),
            "running_loop": repr(asyncio._get_running_loop()),
            "pair_ends": str(len(socketpair.ends)),
            "exit_delivered": str(runtime.exit_delivered()),
            "posted": str(runtime._posted),
            "run_done": str(runtime.run_done),
        }
        a, b = socket.socketpair()
        found["first_pair_fd"] = str(a.fileno() - socketpair._FIRST_FD)
        a.close()
        b.close()
        loop = asyncio.new_event_loop()
        loop.call_soon(loop.stop)
        loop.run_forever()
        loop.close()
        msg = LogMessage("clean")
        for k, v in found.items():
            msg[k] = v
        self.post_message(msg)
        logging.getLogger("snapshot").warning("logging reaches the host")

    def request_exit(self):
        self.exit = True
