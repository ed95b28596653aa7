"""Writes a pyconfig.h for the guest's CPython (wasm32-wasi, 3.14) from the
`_sysconfigdata__wasi_wasm32-wasi.py` that componentize-py ships in its
standard library archive: that file records every define of the pyconfig.h
the guest's libpython was built with."""

import importlib.util
import sys

# Makefile variables that sysconfig mixes in with the pyconfig.h defines.
NOT_DEFINES = {"DIRMODE", "EXEMODE", "FILEMODE", "STATIC_LIBPYTHON"}


def main(sysconfigdata, out):
    spec = importlib.util.spec_from_file_location("sysconfigdata", sysconfigdata)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lines = ["/* Generated from %s. */" % sysconfigdata.rsplit("/", 1)[-1]]
    for key, value in sorted(module.build_time_vars.items()):
        if isinstance(value, int) and value != 0 and key not in NOT_DEFINES:
            lines.append("#define %s %d" % (key, value))
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
