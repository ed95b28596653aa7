"""A metaclass whose __call__ raises: instantiating the source fails inside
the loader."""

from syslogng import LogSource

EXPECT = ["cannot load the source: RuntimeError: metaclass-says-no"]


class Meta(type):
    def __call__(cls, *args, **kwargs):
        raise RuntimeError("metaclass-says-no")


class Hostile(LogSource, metaclass=Meta):
    def run(self):
        pass

    def request_exit(self):
        pass
