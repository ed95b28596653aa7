"""The guest's one door to the host: every call into the host's `host`
interface goes through this module, so that what the guest can ask of the
host is visible in one place. The functions are the generated bindings
themselves (no wrapper on the hot path).
"""

from wit_world.imports import host as _host
from wit_world.imports import tls  # noqa: F401 - TLS sessions, used by _ssl
from wit_world.imports.types import LogLevel, MessageBlock, PendingArea  # noqa: F401 - re-exported

# Messages: one at a time (unbuffered), a block of the guest's buffer, and
# the end of an unbuffered batch.
post_message = _host.post_message
post_messages = _host.post_messages
close_batch = _host.close_batch
set_transport_name = _host.set_transport_name

# Waiting and asking where the source stands (acks, an exit request).
sleep = _host.sleep
poll = _host.poll
prepare_wait = _host.prepare_wait

# The host log.
log = _host.log

# Where the message buffer is, for the host to take it after a trap.
register_pending = _host.register_pending

# TLS: sessions and identities the host runs under the source's policy
# (the `tls` interface); `_ssl` is its only user.

