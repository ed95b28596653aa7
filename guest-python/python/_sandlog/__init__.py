"""Internals of the sandlog guest: the link to the host, shared by the
syslogng compatibility package and the loader. Not for scripts."""
