"""LogMessage and post_message at their edges, where a native fast path
could part from the Python code: each case checks what the Python path
does (same result, same exception and message) and posts one message
naming the case and "ok", or what differed."""

from syslogng import LogMessage, LogSource

MAX_NAME = 255


class Failed(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Failed(what)


def raises(exc, text, fn, *args):
    """fn(*args) raises exactly `exc` whose message contains `text`."""
    try:
        fn(*args)
    except BaseException as e:  # noqa: BLE001 - compared below
        expect(type(e) is exc, f"raised {type(e).__name__}: {e}, not {exc.__name__}")
        expect(text in str(e), f"{exc.__name__} message {str(e)!r} lacks {text!r}")
        return
    raise Failed(f"did not raise {exc.__name__}")


def pairs_size(m):
    return sum(len(k) + len(v) for k, v in m._s.items())


def case_construction(post):
    m = LogMessage(b"hello")
    expect(m["MESSAGE"] == b"hello" and m._size == 12 and m._x is None, "bytes text")
    m = LogMessage("caf\u00e9")
    expect(m["MESSAGE"] == "caf\u00e9".encode() and m._size == 12, "str text")
    m = LogMessage()
    expect(m._s == {} and m._size == 0 and m.keys() == [], "empty")
    m = LogMessage(None)
    expect(m._s == {}, "None")
    m = LogMessage(memoryview(b"view"))
    expect(m["MESSAGE"] == b"view" and type(m["MESSAGE"]) is bytes, "memoryview")
    raises(TypeError, "not bytearray", LogMessage, bytearray(b"array"))
    m = LogMessage(message=b"kw")
    expect(m["MESSAGE"] == b"kw", "keyword")
    m = LogMessage(b"marked", "mark")
    expect(m.bookmark == "mark" and m._x is not None, "bookmark")
    raises(TypeError, "argument 1 must be str, bytes-like object or None, not int", LogMessage, 5)
    raises(TypeError, "LogMessage.__init__() takes from 1 to 3 positional arguments but 4 were given",
           LogMessage, 1, 2, 3)
    raises(TypeError, "unexpected keyword argument", lambda: LogMessage(b"x", colour=1))
    raises(UnicodeEncodeError, "surrogates not allowed", LogMessage, "\ud800")
    # A second __init__ starts the message afresh.
    m = LogMessage(b"first")
    m["seq"] = b"1"
    m.set_pri(10)
    m.__init__(b"second")
    expect(m._s == {"MESSAGE": b"second"} and m._x is None and m._size == 13, "re-init")
    m.__init__()
    expect(m._s == {} and m._size == 0, "re-init empty")
    # Created without __init__: no storage yet, the Python errors.
    bare = LogMessage.__new__(LogMessage)
    raises(AttributeError, "_s", lambda: bare["MESSAGE"])
    raises(AttributeError, "_s", bare.__setitem__, "seq", b"v")
    raises(AttributeError, "_x", post, bare)


def case_stores(post):
    m = LogMessage(b"m")
    m["seq"] = "1"
    m["seq"] = b"22"
    m["seq"] = "333"
    m["other"] = b"\xff\xfe"
    expect(m["seq"] == b"333" and m["other"] == b"\xff\xfe", "values")
    expect(m._size == pairs_size(m) == 8 + 6 + 7, f"size {m._size}")
    raises(UnicodeEncodeError, "surrogates not allowed", m.__setitem__, "seq", "\udcff")
    expect(m["seq"] == b"333" and m._size == pairs_size(m), "failed store changes nothing")
    del m["seq"]
    expect("seq" not in m and m._size == pairs_size(m), "delete")
    raises(KeyError, "No such name-value pair seq", m.__delitem__, "seq")
    raises(KeyError, "No such name-value pair nothere", lambda: m["nothere"])
    # A typed value, then a string under the same name: the typed one goes.
    m["n"] = 5
    expect(m["n"] == 5 and m._x.typed == {"n": m._x.typed["n"]}, "typed")
    m["n"] = "five"
    expect(m["n"] == b"five" and not m._x.typed, "string replaces typed")
    m["n"] = 6
    expect("n" not in m._s and m._size == pairs_size(m), "typed replaces string")
    post(m)


def case_names(post):
    m = LogMessage(b"m")
    longest = "n" * MAX_NAME
    m[longest] = b"v"
    m[longest] = b"vv"
    expect(m[longest] == b"vv" and m._size == pairs_size(m), "longest name")
    raises(ValueError, f"cannot be longer than {MAX_NAME} characters",
           m.__setitem__, "n" * (MAX_NAME + 1), b"v")
    raises(ValueError, "cannot be longer", m.__setitem__, "\u00e9" * (MAX_NAME + 1), b"v")
    raises(ValueError, "must be UTF-8", m.__setitem__, b"\xff\xfe", b"v")
    raises(ValueError, "must be UTF-8", lambda: m[b"\xff"])
    raises(ValueError, "must not be empty", m.__setitem__, "", b"v")
    raises(ValueError, "must not contain NUL", m.__setitem__, "a\0b", b"v")
    raises(TypeError, "key is not a string object", m.__setitem__, 5, b"v")
    raises(TypeError, "key is not a string object", lambda: m[5])
    raises(TypeError, "key is not a string object", lambda: list(m))
    m[b"bytesname"] = b"v"
    expect(m["bytesname"] == b"v" and m[b"bytesname"] == b"v", "bytes name")
    # A host-owned name, even once seen, never reaches the pairs.
    for _ in range(2):
        m["SOURCE"] = b"forged"
        m["PRI"] = b"1"
    expect("SOURCE" not in m._s and "PRI" not in m._s and m["SOURCE"] == b"forged", "shadow")
    expect(m["PRI"] == b"13", "computed")
    post(m)


class Name(str):
    """A str subclass whose hash and equality must never be asked."""

    calls = 0

    def __hash__(self):
        Name.calls += 1
        return 0

    def __eq__(self, other):
        Name.calls += 1
        return False


def case_str_subclass(post):
    m = LogMessage(b"m")
    m["seq"] = b"plain"
    m[Name("seq")] = "sub"
    m[Name("fresh")] = b"f"
    expect(Name.calls == 0, f"{Name.calls} calls to the subclass")
    expect(all(type(k) is str for k in m._s), "names stored as plain str")
    expect(m["seq"] == b"sub" and m[Name("fresh")] == b"f", "read back")
    raises(ValueError, "Error extracting value from Python object", m.__setitem__, "seq", Name("v"))
    expect(m._size == pairs_size(m), "size")
    post(m)
    raises(TypeError, "not Name", LogMessage, Name("text"))


class Collider:
    """A key with the hash of "seq" whose equality test rewrites the
    message it is in."""

    def __init__(self, msg, action):
        self.msg = msg
        self.action = action

    def __hash__(self):
        return hash("seq")

    def __eq__(self, other):
        self.action(self.msg)
        return False


def outcome(fn, *args):
    try:
        fn(*args)
        return "ok"
    except Exception as e:  # noqa: BLE001 - compared by the caller
        return type(e).__name__


def case_reentrancy(post):
    # A name in a tampered _s that runs code each time a store or a read
    # compares it with "seq": what each step gives, as in the Python code.
    cases = [
        ("delete _s", lambda m: delattr(m, "_s"), ["AttributeError"] * 3),
        ("replace _s", lambda m: setattr(m, "_s", {}), ["ok"] * 3),
        ("clear _s", lambda m: m._s.clear(), ["ok"] * 3),
        ("re-init", lambda m: m.__init__(b"again"), ["ok"] * 3),
    ]
    for what, action, want in cases:
        m = LogMessage(b"m")
        m["seq"] = b"1"
        del m["seq"]
        m._s[Collider(m, action)] = b"c"
        got = [outcome(m.__setitem__, "seq", b"2"), outcome(m.__setitem__, "seq", b"3"),
               outcome(m.__getitem__, "seq")]
        expect(got == want, f"{what}: {got}")
    m = LogMessage(b"m")
    m._s[Collider(m, lambda m: m.__init__(b"again"))] = b"c"
    m["seq"] = b"2"
    expect(m._size == 16 and m._s == {"MESSAGE": b"again"}, f"re-init during a store: {m._size}")


def case_delete_while_iterating(post):
    m = LogMessage(b"m")
    for i in range(20):
        m["k%d" % i] = b"v"
    for k in m.keys():
        del m[k]
    expect(m._s == {} and m._size == 0, "all deleted")
    m = LogMessage(b"m")
    m["a"] = b"1"
    m["b"] = b"2"
    try:
        for k in m._s:
            m["c%s" % k] = b"x"
        raise Failed("dict changed size during iteration was not raised")
    except RuntimeError:
        pass
    post(m)


def case_tampered_slots(post):
    m = LogMessage(b"m")
    m._x = 5
    raises(AttributeError, "typed", m.__setitem__, "seq", b"v")
    m = LogMessage(b"m")
    m._s = {"MESSAGE": 5}
    raises(TypeError, "object of type 'int' has no len()", m.__setitem__, "MESSAGE", b"v")
    m = LogMessage(b"m")
    m._s = []
    raises(AttributeError, "'list' object has no attribute 'get'", m.__setitem__, "seq", b"v")
    raises(TypeError, "list indices must be integers", lambda: m["seq"])
    m = LogMessage(b"m")
    del m._s
    raises(AttributeError, "_s", post, m)
    raises(AttributeError, "has no attribute 'other'", setattr, m, "other", 1)


def case_copies(post):
    import copy
    import pickle
    m = LogMessage(b"m")
    m["seq"] = b"1"
    c = copy.copy(m)
    expect(type(c) is LogMessage and c._s is m._s and c._size == m._size and c._x is None, "copy")
    d = copy.deepcopy(m)
    expect(d._s == m._s and d._s is not m._s and d._size == m._size, "deepcopy")
    m.set_pri(10)
    p = pickle.loads(pickle.dumps(m))
    expect(p._s == m._s and p.get_pri() == 10 and p._size == m._size, "pickle")
    s = copy.deepcopy(Sub(b"sub"))
    expect(s.extra == "extra" and s["MESSAGE"] == b"sub", "subclass copy")
    bare = copy.copy(LogMessage.__new__(LogMessage))
    expect(not hasattr(bare, "_s"), "bare copy")
    post(d)


class Sub(LogMessage):
    """A script's subclass, with storage of its own."""

    def __init__(self, text):
        super().__init__(text)
        self.extra = "extra"

    def __setitem__(self, key, value):
        super().__setitem__(key, value.upper() if type(value) is bytes else value)


def case_subclass(post):
    m = Sub(b"sub")
    m["seq"] = b"low"
    expect(m["seq"] == b"LOW" and m.extra == "extra" and m._size == pairs_size(m), "subclass")
    post(m)


def case_sizes(post):
    m = LogMessage(b"m")
    m["big"] = b"x" * (64 * 1024)
    raises(ValueError, "exceeds max_message_size (65536 bytes)", post, m)
    m["big"] = b"x"
    post(m)
    raises(TypeError, "LogMessage expected in the first parameter", post, {"MESSAGE": b"x"})
    raises(TypeError, "LogMessage expected in the first parameter", post, LogMessage)


CASES = [(name[5:], fn) for name, fn in sorted(globals().items()) if name.startswith("case_")]


class MessageEdges(LogSource):
    def init(self, options):
        self.exit = False
        return True

    def run(self):
        for name, fn in CASES:
            try:
                fn(self.post_message)
                result = "ok"
            except Exception as e:  # noqa: BLE001 - reported in the message
                result = f"{type(e).__name__}: {e}"
            msg = LogMessage(name)
            msg["result"] = result
            self.post_message(msg)

    def request_exit(self):
        self.exit = True
