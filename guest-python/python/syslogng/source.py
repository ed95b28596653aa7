"""LogSource: the base class of server-style sources."""

from _sandlog import runtime as _runtime

from .parse import ParseOptions



class LogSource:
    """Subclass it and implement run() and request_exit(); init(options)
    and deinit() are optional. AxoSyslog's semantics apply: init() is judged
    by truthiness, auto_close_batches is True unless init() turns it off."""

    flags = {}
    # As in AxoSyslog: None until init() has run, then what parse() takes.
    parse_options = None
    auto_close_batches = True

    def init(self, options):
        return True

    def deinit(self):
        pass

    def run(self):
        raise NotImplementedError("run() is not implemented")

    def request_exit(self):
        raise NotImplementedError("request_exit() is not implemented")

    @property
    def persist_name(self):
        # As syslog-ng formats it for a source with persist-name().
        return "python-source." + _runtime.source_name

    # The hot path lives in _sandlog.runtime, next to the buffer it fills.
    post_message = _runtime.post_message

    def close_batch(self):
        _runtime.close_batch()

    def set_transport_name(self, name):
        _runtime.set_transport_name(name)
