"""Persist: a dict-like store per source that survives restarts.

`Persist(persist_name, defaults=None)` keeps string keys with str, bytes or
int values, as AxoSyslog's does. Each store is one JSON file in the
source's state directory (mounted read-write at /state by the host). Every
assignment is durable when it returns: the new contents are written to a
temporary file, synced, and renamed over the old one, so a crash leaves
either the old store or the new one, never a torn file.
"""

import base64
import json
import os

_DIR = "/state/persist"
_VERSION = 1
_MISSING = object()


def _key(key):
    if type(key) is bytes:
        key = key.decode("utf-8")
    elif type(key) is not str:
        raise TypeError("key is not a string object")
    return key


def _file_name(persist_name):
    safe = "".join(c if c.isalnum() or c in "-_." else "%%%02X" % ord(c) for c in persist_name)
    return os.path.join(_DIR, (safe or "%") + ".json")


class Persist:
    """A durable mapping of str keys to str, bytes or int values."""

    def __init__(self, persist_name, defaults=None):
        if type(persist_name) is not str:
            raise TypeError("persist_name must be str")
        if "##" in persist_name:
            raise ValueError("persist name cannot contain ##")
        self.persist_name = persist_name
        self._path = _file_name(persist_name)
        self._entries = self._load()
        if defaults:
            changed = False
            for key, value in defaults.items():
                key = _key(key)
                if key not in self._entries:
                    self._entries[key] = self._encode(value)
                    changed = True
            if changed:
                self._save()

    def _load(self):
        try:
            with open(self._path, "rb") as f:
                doc = json.loads(f.read())
        except FileNotFoundError:
            return {}
        if doc.get("version") != _VERSION:
            raise RuntimeError(f"Invalid persist version: {doc.get('version')!r}")
        return doc["entries"]

    def _save(self):
        os.makedirs(_DIR, exist_ok=True)
        tmp = self._path + ".tmp"
        data = json.dumps({"version": _VERSION, "entries": self._entries}).encode()
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self._path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    @staticmethod
    def _encode(value):
        if type(value) is bytes:
            return ["bytes", base64.b64encode(value).decode()]
        if isinstance(value, str):
            return ["str", str(value)]
        if isinstance(value, int):
            return ["int", int(value)]
        raise TypeError("Value must be either string, integer or bytes")

    @staticmethod
    def _decode(entry):
        kind, value = entry
        if kind == "bytes":
            return base64.b64decode(value)
        return value

    def __getitem__(self, key):
        key = _key(key)
        try:
            return self._decode(self._entries[key])
        except KeyError:
            raise KeyError(f"Persist has no such key: {key}") from None

    def __setitem__(self, key, value):
        key = _key(key)
        entry = self._encode(value)
        old = self._entries.get(key, _MISSING)
        self._entries[key] = entry
        try:
            self._save()
        except BaseException:
            # The store on disk is unchanged (a full state directory, say):
            # so is the mapping, and the error reaches the caller.
            if old is _MISSING:
                del self._entries[key]
            else:
                self._entries[key] = old
            raise

    def __contains__(self, key):
        try:
            return _key(key) in self._entries
        except (TypeError, UnicodeDecodeError):
            return False

    def __iter__(self):
        return iter(list(self._entries))

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default
