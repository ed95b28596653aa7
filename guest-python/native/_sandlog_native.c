/* The hot path of a message in C: LogMessage's storage, its construction
 * from a message text, its string stores and reads under names it has
 * already seen, and post_message() into the guest's buffer.
 *
 * Everything else is delegated to the Python code it speeds up
 * (syslogng/message.py and _sandlog/runtime.py), so that the behaviour,
 * the exceptions and their messages stay those of the Python path: a fast
 * case is taken only when every object involved is exactly what the
 * Python code would have built, and anything unusual (a subclass, a str
 * subclass as a name, a name not yet validated, a typed value, a message
 * with extras, a tampered buffer) goes the Python way.
 *
 * Built against the stable ABI of 3.11 (the headers the build machine
 * has); the guest's CPython is 3.14, which loads such modules. No object
 * it touches on a fast path can run Python code (exact str keys, exact
 * bytes values, exact dicts and lists), so nothing it holds borrowed can
 * change under it there. */
#define Py_LIMITED_API 0x030b0000
#include <Python.h>
#include <structmember.h>

/* In the stable ABI since 3.12 (the guest's libpython exports it); the
 * 3.11 headers declare it outside the limited API only. */
PyAPI_FUNC(PyObject *) PyObject_Vectorcall(PyObject *callable, PyObject *const *args,
                                           size_t nargsf, PyObject *kwnames);

/* The storage of a LogMessage: the slots `_s`, `_x` and `_size` of the
 * Python class (see syslogng/message.py for what they hold). */
typedef struct {
    PyObject_HEAD
    PyObject *s;
    PyObject *x;
    Py_ssize_t size;
} Message;

/* What the Python side hands over once, at import (bind_message,
 * post_method). A fast path whose part is missing goes the Python way. */
static PyObject *message_class;  /* syslogng.message.LogMessage */
static PyObject *known_names;    /* syslogng.message._known_names */
static PyObject *runtime_globals; /* _sandlog.runtime's module dict */
static PyObject *post_fallback;   /* runtime's Python post_message */
static PyObject *names_buffer;    /* runtime._names */
static PyObject *values_buffer;   /* runtime._values */
static PyObject *counts_buffer;   /* runtime._counts */
static PyObject *counts_append;   /* runtime._counts.append */

/* The loader's settings, as configure() last read them from runtime's
 * globals (whenever one of them is set): needed at every post, so kept
 * here rather than looked up in the module's globals each time. Until
 * they are read, or while the buffers are not the ones bound, every post
 * goes the Python way. */
static int configured;
static Py_ssize_t post_capacity;
static Py_ssize_t post_max_size;
static int post_run_done;

static PyObject *str_MESSAGE, *str_init, *str_setitem, *str_getitem, *str_delitem;
static PyObject *str_run_done, *str_capacity, *str_max_message_size, *str_names,
    *str_values, *str_counts, *str_flush, *str_aged;

#define MESSAGE_LEN 7 /* len("MESSAGE") */

/* Stores a new reference in *slot and drops the old one after (the
 * 3.11 limited API has no Py_XSETREF). */
static void replace(PyObject **slot, PyObject *value)
{
    PyObject *old = *slot;
    *slot = value;
    Py_XDECREF(old);
}

static PyObject *call_method(PyObject *self, PyObject *name, PyObject *const *args,
                             Py_ssize_t nargs)
{
    PyObject *fn = PyObject_GetAttr(self, name);
    if (fn == NULL)
        return NULL;
    PyObject *r = PyObject_Vectorcall(fn, args, (size_t)nargs, NULL);
    Py_DECREF(fn);
    return r;
}

/* A fresh message holding `value` (exact bytes, a new reference, taken)
 * as MESSAGE, or no pair when `value` is NULL. */
static int message_reset(Message *m, PyObject *value)
{
    PyObject *s = PyDict_New();
    if (s == NULL) {
        Py_XDECREF(value);
        return -1;
    }
    Py_ssize_t size = 0;
    if (value != NULL) {
        int rc = PyDict_SetItem(s, str_MESSAGE, value);
        size = PyBytes_Size(value) + MESSAGE_LEN;
        Py_DECREF(value);
        if (rc < 0) {
            Py_DECREF(s);
            return -1;
        }
    }
    /* The old contents go last: freeing them may run a finaliser that
     * looks at this message. */
    PyObject *old_s = m->s, *old_x = m->x;
    Py_INCREF(Py_None);
    m->s = s;
    m->x = Py_None;
    m->size = size;
    Py_XDECREF(old_s);
    Py_XDECREF(old_x);
    return 0;
}

/* LogMessage(msg): bytes or str as MESSAGE, or nothing. */
static int message_init(PyObject *self, PyObject *args, PyObject *kwds)
{
    if (Py_TYPE(self) == (PyTypeObject *)message_class
        && (kwds == NULL || PyDict_Size(kwds) == 0)) {
        Py_ssize_t nargs = PyTuple_Size(args);
        if (nargs == 0)
            return message_reset((Message *)self, NULL);
        if (nargs == 1) {
            PyObject *arg = PyTuple_GetItem(args, 0);
            if (PyBytes_CheckExact(arg)) {
                Py_INCREF(arg);
                return message_reset((Message *)self, arg);
            }
            if (PyUnicode_CheckExact(arg)) {
                PyObject *value = PyUnicode_AsUTF8String(arg);
                if (value != NULL)
                    return message_reset((Message *)self, value);
                /* Not encodable (a lone surrogate): the Python code raises
                 * it, with its own traceback. */
                PyErr_Clear();
            }
        }
    }
    PyObject *fn = PyObject_GetAttr(self, str_init);
    if (fn == NULL)
        return -1;
    PyObject *r = PyObject_Call(fn, args, kwds);
    Py_DECREF(fn);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* msg[name] = str or bytes, for a name already validated (in
 * known_names: never a host-owned name) on a message with no extras.
 * Returns 1 when done, 0 when the Python code must do it, -1 on error. */
static int message_store(Message *m, PyObject *key, PyObject *value)
{
    if (Py_TYPE((PyObject *)m) != (PyTypeObject *)message_class || !PyUnicode_CheckExact(key)
        || m->x != Py_None || m->s == NULL || !PyDict_CheckExact(m->s) || known_names == NULL)
        return 0;
    int known = PySet_Contains(known_names, key);
    if (known <= 0)
        return known;
    PyObject *v;
    if (PyBytes_CheckExact(value)) {
        Py_INCREF(value);
        v = value;
    } else if (PyUnicode_CheckExact(value)) {
        v = PyUnicode_AsUTF8String(value);
        if (v == NULL) {
            PyErr_Clear();
            return 0;
        }
    } else {
        return 0;
    }
    PyObject *s = m->s;
    Py_INCREF(s);
    int done = -1;
    PyObject *old = PyDict_GetItemWithError(s, key);
    Py_ssize_t delta;
    if (old == NULL) {
        if (PyErr_Occurred())
            goto out;
        delta = PyBytes_Size(v) + PyUnicode_GetLength(key);
    } else if (PyBytes_CheckExact(old)) {
        delta = PyBytes_Size(v) - PyBytes_Size(old);
    } else {
        /* Only a script writing into _s puts anything else there. */
        done = 0;
        goto out;
    }
    if (PyDict_SetItem(s, key, v) < 0)
        goto out;
    m->size += delta;
    done = 1;
out:
    Py_DECREF(s);
    Py_DECREF(v);
    return done;
}

static int message_ass_subscript(PyObject *self, PyObject *key, PyObject *value)
{
    if (value == NULL) {
        PyObject *r = call_method(self, str_delitem, &key, 1);
        if (r == NULL)
            return -1;
        Py_DECREF(r);
        return 0;
    }
    int done = message_store((Message *)self, key, value);
    if (done != 0)
        return done < 0 ? -1 : 0;
    PyObject *args[2] = {key, value};
    PyObject *r = call_method(self, str_setitem, args, 2);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* msg[name] for a string pair it has; the rest (validation, host-owned
 * and typed names, KeyError) in Python. */
static PyObject *message_subscript(PyObject *self, PyObject *key)
{
    Message *m = (Message *)self;
    if (Py_TYPE(self) == (PyTypeObject *)message_class && PyUnicode_CheckExact(key)
        && m->s != NULL && PyDict_CheckExact(m->s)) {
        PyObject *v = PyDict_GetItemWithError(m->s, key);
        if (v != NULL) {
            Py_INCREF(v);
            return v;
        }
        if (PyErr_Occurred())
            return NULL;
    }
    return call_method(self, str_getitem, &key, 1);
}

/* As for a Python class with __getitem__: the object counts as a sequence
 * and iterating it asks for msg[0] (which the name check refuses). */
static PyObject *message_item(PyObject *self, Py_ssize_t i)
{
    PyObject *index = PyLong_FromSsize_t(i);
    if (index == NULL)
        return NULL;
    PyObject *r = call_method(self, str_getitem, &index, 1);
    Py_DECREF(index);
    return r;
}

static int message_traverse(PyObject *self, visitproc visit, void *arg)
{
    Message *m = (Message *)self;
    Py_VISIT(m->s);
    Py_VISIT(m->x);
    Py_VISIT(Py_TYPE(self));
    return 0;
}

static int message_clear(PyObject *self)
{
    Message *m = (Message *)self;
    PyObject *s = m->s, *x = m->x;
    m->s = NULL;
    m->x = NULL;
    Py_XDECREF(s);
    Py_XDECREF(x);
    return 0;
}

static void message_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    message_clear(self);
    freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    tp_free(self);
    Py_DECREF(tp);
}

static PyMemberDef message_members[] = {
    {"_s", T_OBJECT_EX, offsetof(Message, s), 0, NULL},
    {"_x", T_OBJECT_EX, offsetof(Message, x), 0, NULL},
    {"_size", T_PYSSIZET, offsetof(Message, size), 0, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot message_slots[] = {
    {Py_tp_doc, "The storage and hot path of syslogng.LogMessage."},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_init, message_init},
    {Py_tp_dealloc, message_dealloc},
    {Py_tp_traverse, message_traverse},
    {Py_tp_clear, message_clear},
    {Py_tp_members, message_members},
    {Py_mp_subscript, message_subscript},
    {Py_mp_ass_subscript, message_ass_subscript},
    {Py_sq_item, message_item},
    {0, NULL},
};

static PyType_Spec message_spec = {
    "_sandlog_native.Message",
    sizeof(Message),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    message_slots,
};

/* bind_message(cls, known_names): the LogMessage class built on Message
 * (its fast paths apply to exact instances only) and the set of names it
 * has validated. */
static PyObject *bind_message(PyObject *module, PyObject *args)
{
    PyObject *cls, *names;
    PyObject *base = PyObject_GetAttrString(module, "Message");
    if (base == NULL)
        return NULL;
    int ok = PyArg_ParseTuple(args, "O!O!:bind_message", &PyType_Type, &cls, &PySet_Type, &names);
    int sub = ok ? PyObject_IsSubclass(cls, base) : -1;
    Py_DECREF(base);
    if (sub < 0)
        return NULL;
    if (!sub) {
        PyErr_SetString(PyExc_TypeError, "bind_message() needs a subclass of Message");
        return NULL;
    }
    Py_INCREF(cls);
    Py_INCREF(names);
    replace(&message_class, cls);
    replace(&known_names, names);
    Py_RETURN_NONE;
}

static PyObject *globals_get(PyObject *name)
{
    return PyDict_GetItemWithError(runtime_globals, name);
}

/* Whether the post path asks the clock at buffer length n: the lengths
 * of runtime._AGE_CHECKS. */
static int age_check(Py_ssize_t n)
{
    return n == 1 || n == 2 || n == 4 || n == 8 || n == 16
        || (n >= 32 && n < 65536 && n % 32 == 0);
}

/* Appends the message's names and its values, then its count, as
 * runtime.post_message does. Returns the new buffer length, or -1. */
static Py_ssize_t buffer_append(PyObject *s)
{
    Py_ssize_t pos = 0, count = 0;
    PyObject *k, *v;
    while (PyDict_Next(s, &pos, &k, &v)) {
        if (PyList_Append(names_buffer, k) < 0 || PyList_Append(values_buffer, v) < 0)
            return -1;
        count++;
    }
    PyObject *c = PyLong_FromSsize_t(count);
    if (c == NULL)
        return -1;
    PyObject *r = PyObject_Vectorcall(counts_append, &c, 1, NULL);
    Py_DECREF(c);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return PyObject_Size(counts_buffer);
}

/* The Python fallback's condition, inverted: 1 when a plain message can go
 * the fast way into the buffer. */
static int post_fast_ok(Message *m)
{
    return configured && !post_run_done && post_capacity > 0
        && Py_TYPE((PyObject *)m) == (PyTypeObject *)message_class && m->x == Py_None
        && m->s != NULL && PyDict_CheckExact(m->s) && m->size <= post_max_size;
}

/* LogSource.post_message(self, msg): a method descriptor, so that it
 * binds as the Python function did. */
static PyObject *post_message(PyObject *source, PyObject *msg)
{
    if (!post_fast_ok((Message *)msg)) {
        PyObject *args[2] = {source, msg};
        return PyObject_Vectorcall(post_fallback, args, 2, NULL);
    }
    PyObject *s = ((Message *)msg)->s;
    Py_INCREF(s);
    Py_ssize_t n = buffer_append(s);
    Py_DECREF(s);
    if (n < 0)
        return NULL;
    PyObject *r = NULL;
    if (n >= post_capacity) {
        PyObject *flush = globals_get(str_flush);
        if (flush == NULL) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_NameError, "name 'flush' is not defined");
            return NULL;
        }
        r = PyObject_Vectorcall(flush, NULL, 0, NULL);
    } else if (age_check(n)) {
        PyObject *aged = globals_get(str_aged);
        if (aged == NULL) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_NameError, "name '_aged' is not defined");
            return NULL;
        }
        PyObject *len = PyLong_FromSsize_t(n);
        if (len == NULL)
            return NULL;
        r = PyObject_Vectorcall(aged, &len, 1, NULL);
        Py_DECREF(len);
    } else {
        Py_RETURN_NONE;
    }
    if (r == NULL)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_NONE;
}

static PyMethodDef post_def = {
    "post_message", post_message, METH_O,
    "Posts a LogMessage into the guest's buffer (see _sandlog.runtime).",
};

/* The object named `name` in runtime's globals, as a new reference, or
 * NULL with an exception. */
static PyObject *runtime_object(PyObject *globals, PyObject *name, PyTypeObject *type,
                               const char *what)
{
    PyObject *o = PyDict_GetItemWithError(globals, name);
    if (o == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetObject(PyExc_KeyError, name);
        return NULL;
    }
    if (type != NULL && !Py_IS_TYPE(o, type)) {
        PyErr_Format(PyExc_TypeError, "runtime.%U is not a %s", name, what);
        return NULL;
    }
    Py_INCREF(o);
    return o;
}

/* post_method(runtime_globals, fallback): the native post_message, bound
 * to runtime's buffer (its lists are never rebound, only emptied), to its
 * module dict (for flush and _aged) and to the Python post_message it
 * falls back to. */
static PyObject *post_method(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *globals, *fallback;
    if (!PyArg_ParseTuple(args, "O!O:post_method", &PyDict_Type, &globals, &fallback))
        return NULL;
    PyObject *names = runtime_object(globals, str_names, &PyList_Type, "list");
    PyObject *values = names ? runtime_object(globals, str_values, &PyList_Type, "list") : NULL;
    PyObject *counts = values ? runtime_object(globals, str_counts, NULL, NULL) : NULL;
    PyObject *append = counts ? PyObject_GetAttrString(counts, "append") : NULL;
    if (append == NULL) {
        Py_XDECREF(names);
        Py_XDECREF(values);
        Py_XDECREF(counts);
        return NULL;
    }
    Py_INCREF(globals);
    Py_INCREF(fallback);
    replace(&runtime_globals, globals);
    replace(&post_fallback, fallback);
    replace(&names_buffer, names);
    replace(&values_buffer, values);
    replace(&counts_buffer, counts);
    replace(&counts_append, append);
    return PyDescr_NewMethod(&PyBaseObject_Type, &post_def);
}

/* configure(): reads the loader's settings (capacity, max_message_size,
 * run_done) from runtime's globals for the fast path, and whether its
 * buffers are still the lists the fast path appends to. Anything a script
 * set there that is not what the loader sets (another type, another
 * list) sends every post the Python way, which raises what it raises. */
static PyObject *configure(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    configured = 0;
    if (runtime_globals == NULL)
        Py_RETURN_NONE;
    PyObject *cap = PyDict_GetItemWithError(runtime_globals, str_capacity);
    PyObject *max = cap ? PyDict_GetItemWithError(runtime_globals, str_max_message_size) : NULL;
    PyObject *done = max ? PyDict_GetItemWithError(runtime_globals, str_run_done) : NULL;
    PyObject *names = done ? PyDict_GetItemWithError(runtime_globals, str_names) : NULL;
    PyObject *values = names ? PyDict_GetItemWithError(runtime_globals, str_values) : NULL;
    PyObject *counts = values ? PyDict_GetItemWithError(runtime_globals, str_counts) : NULL;
    if (PyErr_Occurred())
        return NULL;
    if (counts != counts_buffer || values != values_buffer || names != names_buffer
        || !PyLong_CheckExact(cap) || !PyLong_CheckExact(max)
        || (done != Py_True && done != Py_False))
        Py_RETURN_NONE;
    Py_ssize_t c = PyLong_AsSsize_t(cap), m = PyLong_AsSsize_t(max);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    post_capacity = c;
    post_max_size = m;
    post_run_done = done == Py_True;
    configured = 1;
    Py_RETURN_NONE;
}

/* On a 32-bit build, CPython 3.14 counts an object with at least 2**30
 * references as immortal, and gives the objects it makes immortal 5 * 2**28
 * (below the 6 * 2**28 that marks its statically allocated ones), so that
 * code unaware of immortality can add and drop references without
 * changing that. */
#define IMMORTAL_MINIMUM ((Py_ssize_t)1 << 30)
#define IMMORTAL_INITIAL ((Py_ssize_t)5 << 28)

/* immortalize(objects): makes every object of the iterable immortal (its
 * reference count is no longer written), unless it is already, and
 * returns a list of those it changed, so that a traversal of the heap
 * needs no set of its own: an immortal object counts as seen. Meant for
 * the objects of the snapshot only, which live as long as the instance:
 * each write of a reference count to the shared image copies its page
 * into the instance. */
static PyObject *immortalize(PyObject *module, PyObject *objects)
{
    (void)module;
    if (sizeof(void *) != 4) {
        PyErr_SetString(PyExc_RuntimeError, "immortalize() is for 32-bit builds");
        return NULL;
    }
    PyObject *changed = PyList_New(0);
    PyObject *it = changed ? PyObject_GetIter(objects) : NULL;
    if (it == NULL) {
        Py_XDECREF(changed);
        return NULL;
    }
    PyObject *o;
    while ((o = PyIter_Next(it)) != NULL) {
        if (Py_REFCNT(o) < IMMORTAL_MINIMUM) {
            if (PyList_Append(changed, o) < 0) {
                Py_DECREF(o);
                break;
            }
            Py_SET_REFCNT(o, IMMORTAL_INITIAL);
            /* A string keeps its hash once it is asked for it: asked now,
             * the instances that use it as a key do not write it. */
            if (PyUnicode_CheckExact(o) && PyObject_Hash(o) == -1) {
                Py_DECREF(o);
                break;
            }
        }
        Py_DECREF(o);
    }
    Py_DECREF(it);
    if (PyErr_Occurred()) {
        Py_DECREF(changed);
        return NULL;
    }
    return changed;
}

static PyMethodDef module_methods[] = {
    {"bind_message", bind_message, METH_VARARGS,
     "bind_message(cls, known_names): the LogMessage class and its validated names."},
    {"post_method", post_method, METH_VARARGS,
     "post_method(runtime_globals, fallback): the native LogSource.post_message."},
    {"configure", configure, METH_NOARGS,
     "configure(): reads the loader's settings from runtime's globals."},
    {"immortalize", immortalize, METH_O,
     "immortalize(objects): makes them immortal; returns those it changed."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_sandlog_native",
    "The native hot path of a message (see _sandlog_native.c).", -1, module_methods,
    NULL, NULL, NULL, NULL,
};

static int intern(PyObject **slot, const char *text)
{
    *slot = PyUnicode_InternFromString(text);
    return *slot == NULL ? -1 : 0;
}

PyMODINIT_FUNC PyInit__sandlog_native(void)
{
    if (intern(&str_MESSAGE, "MESSAGE") < 0 || intern(&str_init, "_init") < 0
        || intern(&str_setitem, "_setitem") < 0 || intern(&str_getitem, "_getitem") < 0
        || intern(&str_delitem, "_delitem") < 0 || intern(&str_run_done, "run_done") < 0
        || intern(&str_capacity, "capacity") < 0
        || intern(&str_max_message_size, "max_message_size") < 0
        || intern(&str_names, "_names") < 0 || intern(&str_values, "_values") < 0
        || intern(&str_counts, "_counts") < 0 || intern(&str_flush, "flush") < 0
        || intern(&str_aged, "_aged") < 0)
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    PyObject *type = PyType_FromSpec(&message_spec);
    if (type == NULL || PyModule_AddObject(module, "Message", type) < 0) {
        Py_XDECREF(type);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
