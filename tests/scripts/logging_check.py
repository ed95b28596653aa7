"""Logs through syslogng.Logger and Python's logging module."""

import logging

from syslogng import LogMessage, LogSource, Logger


class LoggingCheck(LogSource):
    def run(self):
        log = Logger()
        log.debug("logger debug line")
        log.info("logger info line")
        log.warning("logger warning line")
        log.error("logger error line")
        logging.getLogger("tenant").info("logging info line")
        logging.getLogger("tenant").warning("logging warning line")
        logging.getLogger("tenant.sub").error("logging error line")
        self.post_message(LogMessage("logged"))

    def request_exit(self):
        pass
