"""Thread pools without threads.

A WebAssembly instance has one thread, and Thread.start() raises. The
standard library and common libraries hand blocking work to a thread pool
all the same: asyncio's getaddrinfo() and run_in_executor(None, ...),
tornado's default resolver, aiohttp's resolver and its compression of
large bodies. Here a ThreadPoolExecutor runs what it is given at once, in
the caller's thread, and returns a finished future: the work is done in
order, and the event loop waits for it as a blocking call would. An event
loop's default executor shuts down without a thread too.
"""

from concurrent.futures import Future as _Future
from concurrent.futures import thread as _thread


def _submit(self, fn, /, *args, **kwargs):
    if self._shutdown:
        raise RuntimeError("cannot schedule new futures after shutdown")
    future = _Future()
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - handed to the future, as a pool does
        future.set_exception(exc)
    else:
        future.set_result(result)
    return future


async def _shutdown_default_executor(self, timeout=None):
    """asyncio's loop shuts its default executor down in a thread of its
    own; this one has nothing running, so it shuts down at once."""
    self._executor_shutdown_called = True
    if self._default_executor is None:
        return
    self._default_executor.shutdown(wait=False)


def install():
    from asyncio import base_events

    _thread.ThreadPoolExecutor.submit = _submit
    base_events.BaseEventLoop.shutdown_default_executor = _shutdown_default_executor
