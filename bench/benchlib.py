"""What the Python benchmarks share: the sandlog binary they measure and a
cache with the guest already compiled, so that no run pays for Cranelift."""

import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sandlog_binary():
    """SANDLOG_BIN, else a release build of this checkout (built now)."""
    binary = os.environ.get("SANDLOG_BIN")
    if binary:
        return binary
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "sandlog"], cwd=ROOT, check=True)
    return os.path.join(ROOT, "target", "release", "sandlog")


def prepared_cache(binary, workdir):
    """A cache directory under `workdir` holding the compiled guest."""
    cache = os.path.join(workdir, "cache")
    subprocess.run([binary, "--cache-dir", cache, "prepare"], check=True, stderr=subprocess.DEVNULL)
    return cache
