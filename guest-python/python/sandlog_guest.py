"""The guest's entry point: loads a source script at run time and drives
its lifecycle for the host.

The component is pre-initialised with this module imported: whatever is
imported here is in the snapshot every instance starts from, and needs no
file system at run time. The rest of the standard library is read from the
read-only /python mount when a script imports it.
"""

import sys

from _sandlog import blocking, netcompat, runtime, socketpair, stdio, threads

# Blocking primitives must be exit-aware before selectors and asyncio take
# references to them.
blocking.install()
netcompat.install()
socketpair.install()
stdio.install()
threads.install()

import linecache
import marshal
import traceback
import types

import syslogng
from _sandlog_shared import DEFAULT_GUEST_BUFFER, DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_WINDOW
from componentize_py_types import Err
from syslogng.logger import setup_logging
from syslogng.ack import AckTracker
from syslogng.parse import ParseOptions
from syslogng import fetcher as _fetcher
from syslogng.fetcher import LogFetcher as _LogFetcher
from syslogng.source import LogSource as _LogSource
from wit_world import exports
from wit_world.imports.types import Failure, Status

# Preloaded so that the common imports of log sources cost nothing at run
# time; they are shared copy-on-write by every instance.
import asyncio  # noqa: F401,E402
import base64  # noqa: F401,E402
import collections  # noqa: F401,E402
import datetime  # noqa: F401,E402
import functools  # noqa: F401,E402
import ipaddress  # noqa: F401,E402
import json  # noqa: F401,E402
import logging  # noqa: F401,E402
import random  # noqa: F401,E402
import re  # noqa: F401,E402
import selectors  # noqa: F401,E402
import socket  # noqa: F401,E402
import ssl  # noqa: F401,E402
import struct  # noqa: F401,E402
import time  # noqa: F401,E402

_source_class = None
# (no_data_delay, time_reopen) in seconds when the source is a LogFetcher.
_fetch_delays = None

setup_logging()


def _failure(exc):
    """A WIT failure from an exception, with the script's own frames (the
    loader's frames are left out)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    tb = "".join(traceback.format_exception(type(exc), exc, tb)).rstrip()
    message = str(exc)
    return Err(Failure(type(exc).__name__, message, tb))


def _call(fn, *args):
    """Call a script method; a Python exception (even SystemExit) becomes a
    failure for the host instead of a trap."""
    try:
        return fn(*args)
    except BaseException as exc:  # noqa: BLE001 - reported with its traceback
        raise _failure(exc) from None
    finally:
        sys.stdout.flush()
        sys.stderr.flush()


def _release_frames(exc):
    """Drops the locals of the frames an exception's traceback holds, and
    of those of the exceptions it chains to (the failure is already
    formatted)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        traceback.clear_frames(exc.__traceback__)
        exc = exc.__cause__ or exc.__context__


def _load(setup):
    global _source_class
    runtime.source_name = setup.name
    runtime.window = max(setup.window, 1)
    # A buffer larger than the window would hand over more than the window
    # at once.
    runtime.capacity = min(setup.buffer, runtime.window)
    runtime.max_message_size = setup.max_message_size
    syslogng.message.compat_3x = setup.compat_3x
    # os.environ was filled when the snapshot was taken: replace it with
    # exactly what the policy grants.
    import os
    os.environ.clear()
    os.environ.update(dict(setup.env))
    sys.path[:0] = list(setup.python_path)
    if not setup.code and "." in setup.class_name:
        # class = "module.Class", as AxoSyslog's class("file.Class"): the
        # module comes from the source's python_path.
        import importlib
        module_name, _, class_name = setup.class_name.rpartition(".")
        module = importlib.import_module(module_name)
        cls = getattr(module, class_name, None)
        where = getattr(module, "__file__", module_name)
        if cls is None:
            raise NameError(f"class {class_name!r} is not defined in module {module_name!r} ({where})")
        setup_filename = where
    else:
        # Tracebacks show the script's lines although the file is not mounted.
        lines = setup.code.splitlines(keepends=True)
        linecache.cache[setup.filename] = (len(setup.code), None, lines, setup.filename)
        if setup.bytecode:
            code = marshal.loads(setup.bytecode.encode("latin-1"))
        else:
            code = compile(setup.code, setup.filename, "exec")
        module = types.ModuleType("_sandlog_script")
        module.__file__ = setup.filename
        sys.modules[module.__name__] = module
        exec(code, module.__dict__)
        cls = module.__dict__.get(setup.class_name)
        if cls is None:
            raise NameError(f"class {setup.class_name!r} is not defined in {setup.filename}")
        setup_filename = setup.filename
    # The real base classes, bound at build time: a script that rebinds
    # syslogng.LogSource does not change what the check accepts.
    global _fetch_delays
    if isinstance(cls, type) and issubclass(cls, _LogFetcher):
        if cls.fetch is _LogFetcher.fetch:
            raise TypeError(f"class {setup.class_name!r} does not implement the mandatory fetch() method")
        _fetch_delays = (setup.fetch_no_data_delay_ms / 1000, setup.time_reopen_ms / 1000)
    elif not isinstance(cls, type) or not issubclass(cls, _LogSource):
        raise TypeError(f"{setup.class_name!r} in {setup_filename} is not a subclass of "
                        "syslogng.LogSource or syslogng.LogFetcher")
    else:
        if cls.run is _LogSource.run:
            raise TypeError(f"class {setup.class_name!r} does not implement the mandatory run() method")
        if cls.request_exit is _LogSource.request_exit:
            # As AxoSyslog: the class loads; a run() that ends by itself
            # works, and a stop reaches it through the exit grace.
            runtime.log(runtime.LogLevel.WARN, f"class {setup.class_name!r} does not implement request_exit(): "
                        "a stop ends its run() only when the exit grace has passed")
    if not issubclass(cls, _LogFetcher) and hasattr(cls, "suspend"):
        # As AxoSyslog: post_message does not block for a class that can be
        # suspended, and such a class must be woken up too.
        if not hasattr(cls, "wakeup"):
            raise TypeError(f"class {setup.class_name!r} implements suspend() but wakeup() is missing")
        runtime.suspend_mode = True
    _source_class = cls
    source = cls()
    if not isinstance(source, _LogFetcher):
        source.auto_close_batches = True
    # As AxoSyslog: the parse flags are there for init() to read.
    source.flags = dict(setup.parse_flags)
    runtime.source = source


def _compile(code, filename):
    return marshal.dumps(compile(code, filename, "exec")).decode("latin-1")


def _take_ack_tracker(source):
    tracker = getattr(source, "ack_tracker", None)
    if tracker is not None and not isinstance(tracker, AckTracker):
        raise TypeError("the ack_tracker attribute of a source needs to be an AckTracker "
                        f"(InstantAckTracker, ConsecutiveAckTracker or BatchedAckTracker), not {type(tracker).__name__}")
    runtime.ack_tracker = tracker


class Source(exports.Source):
    def compile(self, code, filename):
        return _call(_compile, code, filename)

    def load(self, setup):
        _call(_load, setup)

    def init(self, options):
        source = runtime.source
        result = _call(source.init, dict(options))
        ok = bool(_call(bool, result))
        source.parse_options = ParseOptions(getattr(source, "flags", {}))
        # As AxoSyslog: a fetcher closes a batch with every message.
        flag = getattr(source, "auto_close_batches", True) if _fetch_delays is None else True
        runtime.auto_close = flag is not False
        if ok:
            _call(_take_ack_tracker, source)
        return ok

    def acknowledge(self, acked):
        return _call(runtime.acknowledge, acked)

    def run(self):
        source = runtime.source
        runtime.register_pending()
        try:
            if _fetch_delays is None:
                _call(source.run)
            else:
                _call(_fetcher.drive, source, *_fetch_delays)
        except BaseException as failure:
            # The failure holds run()'s frames, and with them whatever
            # filled the memory before a MemoryError: let it go, since
            # handing the buffer over needs memory of its own.
            _release_frames(failure)
            raise
        finally:
            try:
                runtime.flush()
            except BaseException:  # noqa: BLE001 - the host reports the run's own result
                pass
            # As AxoSyslog: what is posted once run() is over (from deinit(),
            # say) raises instead of being lost.
            runtime.run_done = True
        return None

    def request_exit(self):
        if runtime.exit_delivered():
            return None
        runtime.mark_exit_delivered()
        _call(runtime.source.request_exit)
        return None

    def deinit(self):
        _call(runtime.source.deinit)
        return None

    def probe_imports(self, modules):
        import importlib
        failed = []
        for name in modules:
            try:
                importlib.import_module(name)
            except BaseException as exc:  # noqa: BLE001 - reported to the operator
                failed.append((name, f"{type(exc).__name__}: {exc}"))
        return failed


# The snapshot every instance starts from. Whatever an instance writes to
# after instantiation is copied out of the shared image page by page, so the
# snapshot is taken after the path every source takes (load, init(), run()
# with its posts and waits, hearing the exit request) has run on throwaway
# sources, one sleeping and one in an asyncio loop, against a stand-in for
# the host: the bytecode they run is specialised and the strings and caches
# they fill exist already. All module state that they touched is put back
# as it was.
import gc  # noqa: E402
import os  # noqa: E402

_WARM_SCRIPT = """
import asyncio
import time
from syslogng import LogSource, LogMessage


class Warm(LogSource):
    def init(self, options):
        self.exit = False
        self.options = options
        return True

    def run(self):
        self.post_message(LogMessage("warm"))
        while not self.exit:
            time.sleep(1)

    def request_exit(self):
        self.exit = True


class WarmLoop(LogSource):
    def init(self, options):
        self.loop = asyncio.new_event_loop()
        return True

    def run(self):
        self.loop.call_soon(self.post_message, LogMessage("warm"))
        self.loop.run_forever()
        self.loop.close()

    def request_exit(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
"""


class _StandInHost:
    """The host's side of a source's run, while the snapshot is made (the
    host is not there then): a post is taken, and the first wait brings
    the exit request, as a stop does."""

    def __init__(self):
        self.stopping = False

    def _status(self):
        return Status(exit=self.stopping, acked=0)

    def post_messages(self, block):
        return self._status()

    def sleep(self, nanos, wake_at_acked):
        self.stopping = True
        return self._status()

    def prepare_wait(self, wake_at_acked):
        self.stopping = True
        return self._status()

    def poll(self):
        return self._status()

    def register_pending(self, area):
        pass

    def log(self, level, message):
        pass


def _warm_run(src, setup, class_name, saved_runtime):
    """Loads `class_name` of the warm-up script, then runs its init(), run()
    and exit against a stand-in host, so that the bytecode of a source's
    whole life (posting, the hand-over, waiting, hearing the exit request,
    an asyncio loop's turns) is specialised in the snapshot rather than in
    every instance."""
    setup.class_name = class_name
    src.load(setup)
    src.init([("key", "value")])
    stand_in = _StandInHost()
    saved = {name: getattr(runtime.host, name) for name in
             ("post_messages", "sleep", "prepare_wait", "poll", "register_pending", "log")}
    for name in saved:
        setattr(runtime.host, name, getattr(stand_in, name))
    try:
        src.run()
        src.deinit()
    finally:
        for name, fn in saved.items():
            setattr(runtime.host, name, fn)
        vars(runtime).clear()
        vars(runtime).update(saved_runtime)


def _warm_up():
    global _source_class, _fetch_delays
    import types as _types

    saved_runtime = dict(vars(runtime))
    saved_next_fd = socketpair._next_fd
    saved_environ = dict(os.environ)
    saved_path = list(sys.path)
    saved_compat = syslogng.message.compat_3x
    saved_names = set(syslogng.message._known_names)
    saved_globals = (_source_class, _fetch_delays)
    setup = _types.SimpleNamespace(
        name="warm", filename="<warm>", code=_WARM_SCRIPT, bytecode="", class_name="Warm",
        buffer=DEFAULT_GUEST_BUFFER, max_message_size=DEFAULT_MAX_MESSAGE_SIZE, env=[],
        fetch_no_data_delay_ms=1000, time_reopen_ms=60000, compat_3x=False, python_path=[],
        window=DEFAULT_WINDOW,
        parse_flags=[])
    try:
        src = Source()
        # As the host does: compile, then load from the bytecode.
        setup.bytecode = src.compile(setup.code, setup.filename)
        src.load(setup)
        src.init([("key", "value")])
        # Nothing the warm-up logs (asyncio names its selector) may reach
        # the host log, which is not there while the snapshot is made.
        logging.disable(logging.CRITICAL)
        for class_name in ("Warm", "WarmLoop"):
            _warm_run(src, setup, class_name, saved_runtime)
    finally:
        logging.disable(logging.NOTSET)
        socketpair._next_fd = saved_next_fd
        _source_class, _fetch_delays = saved_globals
        linecache.cache.pop(setup.filename, None)
        sys.modules.pop("_sandlog_script", None)
        sys.path[:] = saved_path
        os.environ.clear()
        os.environ.update(saved_environ)
        syslogng.message.compat_3x = saved_compat
        syslogng.message._known_names.clear()
        syslogng.message._known_names.update(saved_names)
        vars(runtime).clear()
        vars(runtime).update(saved_runtime)
        runtime.settings_changed()


def _fill_holes():
    """Fills the free chunks that the collection left all over the heap,
    with objects kept for good, so that the allocations of an instance are
    carved from the top of the heap, together, instead of dirtying a page
    of the shared image for each. Sizes from large to small, each until
    an allocation comes from the top."""
    fillers = []
    probe = bytes(1 << 20)
    top = id(probe)
    del probe
    size = 1 << 18
    while size >= 24:
        while True:
            b = bytes(size - 17)
            if id(b) >= top - 4096:
                break
            fillers.append(b)
        del b
        size = size * 4 // 5
    return fillers


def _immortalize_heap():
    """Makes every object of the snapshot immortal: an instance that only
    uses one (calls a function, looks a name up, reads a setting) would
    otherwise write its reference count, and so copy the page it is on out
    of the shared image. The objects are found from the collector's list
    and, transitively, what each refers to (strings, numbers, code and the
    other objects it does not track); an object already immortal counts as
    seen, so that the walk needs no memory beyond its frontier."""
    try:
        import _sandlog_native
    except ImportError:
        return
    todo = gc.get_objects()
    while todo:
        todo = gc.get_referents(*_sandlog_native.immortalize(todo))


_warm_up()
gc.collect()
_immortalize_heap()
_fillers = _fill_holes()
del _warm_up, _warm_run, _StandInHost, _fill_holes, _immortalize_heap
# The collector never walks what the snapshot holds.
gc.freeze()
