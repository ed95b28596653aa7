/* The smallest extension module for the guest: one function returning 42,
 * built only to find out whether componentize-py links a native module
 * made with the toolchain the package registries offer. */
#define Py_LIMITED_API 0x030b0000
#include <Python.h>

static PyObject *answer(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return PyLong_FromLong(42);
}

static PyMethodDef methods[] = {
    {"answer", answer, METH_NOARGS, "Returns 42."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_sandlog_native", NULL, 0, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__sandlog_native(void)
{
    return PyModule_Create(&module);
}
