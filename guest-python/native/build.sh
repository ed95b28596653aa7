#!/bin/sh
# Builds the native extension as a wasm32 shared library that componentize-py
# links into the guest. Needs Debian's clang-16, lld-16, wasi-libc and
# python3.11-dev (for the stable-ABI headers), zstd and python3.
# guest-python/build.rs runs it; it can be run by hand too.
# Usage: build.sh OUTPUT.abi3.so WORK_DIR STDLIB_ARCHIVE
#   STDLIB_ARCHIVE: componentize-py's python-lib.tar.zst (in the crate's
#   source in the cargo registry), which holds the guest's sysconfig data.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
so=${1:?usage: build.sh OUTPUT.abi3.so WORK_DIR STDLIB_ARCHIVE}
work=${2:?usage: build.sh OUTPUT.abi3.so WORK_DIR STDLIB_ARCHIVE}
stdlib=${3:?usage: build.sh OUTPUT.abi3.so WORK_DIR STDLIB_ARCHIVE}
rm -rf "$work"
mkdir -p "$work/include"
# Debian's headers, with the pyconfig.h of the guest's CPython in place of
# the host's (a quoted include looks in the including header's directory
# first, so the header must be replaced there, not shadowed).
cp -a /usr/include/python3.11/. "$work/include/"
zstd -dc "$stdlib" | tar -x -C "$work" _sysconfigdata__wasi_wasm32-wasi.py
python3 "$here/gen_pyconfig.py" "$work/_sysconfigdata__wasi_wasm32-wasi.py" "$work/include/pyconfig.h"
# Debian's clang 16 builds position-independent wasm code only for the
# Emscripten triple (LLVM 16 forces the static model on every other wasm OS;
# -fPIC for wasm32-wasi is silently dropped). The C ABI is the same, so the
# Emscripten triple is used with the WASI headers and the WASI macros.
clang-16 --target=wasm32-unknown-emscripten -U__EMSCRIPTEN__ -D__wasi__ \
    -nostdinc -isystem /usr/lib/llvm-16/lib/clang/16/include -isystem /usr/include/wasm32-wasi \
    -O2 -fPIC -Wall -Wextra -Werror -Wno-missing-field-initializers -Wno-cast-function-type \
    -I "$work/include" \
    -c "$here/_sandlog_native.c" -o "$work/_sandlog_native.o"
wasm-ld-16 --experimental-pic -shared -o "$so" "$work/_sandlog_native.o"
