"""Imports standard library modules that the guest did not preload."""

import base64
import csv
import decimal
import fractions
import hashlib
import io
import statistics
import string
import textwrap
import urllib.parse
import uuid
import xml.etree.ElementTree as ET
import zlib

from syslogng import LogMessage, LogSource


class StdlibCheck(LogSource):
    def run(self):
        rows = list(csv.reader(io.StringIO("a,b\n1,2\n")))
        msg = LogMessage("stdlib")
        msg["sha256"] = hashlib.sha256(b"sandlog").hexdigest()
        msg["crc"] = zlib.crc32(b"sandlog")
        msg["b64"] = base64.b64encode(b"sandlog").decode()
        msg["csv"] = rows[1][1]
        msg["decimal"] = str(decimal.Decimal("1.10") + decimal.Decimal("2.20"))
        msg["fraction"] = str(fractions.Fraction(3, 6))
        msg["mean"] = statistics.mean([1, 2, 3, 4])
        msg["query"] = urllib.parse.urlencode({"q": "a b"})
        msg["xml"] = ET.fromstring("<a><b>x</b></a>").find("b").text
        msg["uuid_len"] = len(str(uuid.uuid4()))
        msg["wrapped"] = textwrap.shorten("a b c d e f g", width=7)
        msg["letters"] = string.ascii_lowercase[:3]
        self.post_message(msg)

    def request_exit(self):
        pass
