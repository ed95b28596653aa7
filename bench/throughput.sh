#!/usr/bin/env bash
# Throughput: the same server-style source posting N messages (MESSAGE plus
# one custom field) into a file, under real syslog-ng (its python() source)
# and under sandlog, in one run. Each is timed from process start until all
# N lines are in the file. Also reports sandlog's start-up: process start to
# first message, and instantiate+init per source.
#
# usage: bench/throughput.sh [N]      (default 1000000)
#        SANDLOG_BEFORE=path/to/sandlog bench/throughput.sh [N]
#   also runs another build (say one built with SANDLOG_GUEST_NATIVE=0,
#   the pure-Python message path) with the default policy, in the same run.
# Installs syslog-ng from Debian when it is missing; builds sandlog --release
# unless SANDLOG_BIN names the binary to time (as the other benchmarks do).
set -euo pipefail
N=${1:-1000000}
root=$(cd "$(dirname "$0")/.." && pwd)

if ! command -v syslog-ng >/dev/null || ! ls /usr/lib/syslog-ng/*/libmod-python*.so >/dev/null 2>&1; then
  echo "installing syslog-ng-core and syslog-ng-mod-python" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq syslog-ng-core syslog-ng-mod-python >/dev/null
fi

if [ -n "${SANDLOG_BIN:-}" ]; then
  sandlog=$SANDLOG_BIN
  [ -x "$sandlog" ] || { echo "SANDLOG_BIN=$sandlog is not an executable" >&2; exit 2; }
else
  (cd "$root" && cargo build --release -q -p sandlog)
  sandlog="$root/target/release/sandlog"
fi
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
"$sandlog" --cache-dir "$d/cache" prepare 2>/dev/null

# Counts lines as they arrive; prints the seconds from $1 (epoch seconds)
# until the file holds $3 lines. It reads each byte once: counting the
# whole file again every 10 ms (wc -l) took most of a core beside the
# process measured once the file reached 100 MB, more for JSON lines than
# for syslog-ng's short $MSG lines.
wait_lines() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys, time
start, path, want = float(sys.argv[1]), sys.argv[2], int(sys.argv[3])
seen, f = 0, None
while seen < want:
    if f is None:
        try:
            f = open(path, "rb")
        except FileNotFoundError:
            time.sleep(0.01)
            continue
    chunk = f.read(1 << 20)
    if chunk:
        seen += chunk.count(b"\n")
    else:
        time.sleep(0.01)
print(f"{time.time() - start:.3f}")
PY
}

cp "$root/bench/anchor_source.py" "$d/bench.py"

# --- syslog-ng ---------------------------------------------------------
# $1: the file template. Prints the seconds until all N lines are written.
run_syslog_ng() {
  local template=$1 out="$d/syslog-ng.out"
  rm -f "$out" "$d/p"
  version=$(syslog-ng --version | sed -n 's/^Config version: *//p' | head -1)
  {
    echo "@version: ${version:-3.38}"
    echo 'options { stats-freq(0); };'
    echo 'python {'
    cat "$d/bench.py"
    echo '};'
    echo "source s_py { python(class(\"Bench\") options(\"n\" \"$N\")); };"
    echo "destination d_file { file(\"$out\" template(\"$template\")); };"
    echo 'log { source(s_py); destination(d_file); };'
  } > "$d/syslog-ng.conf"
  local start
  start=$(python3 -c 'import time; print(time.time())')
  syslog-ng -F -f "$d/syslog-ng.conf" --persist-file="$d/p" --pidfile="$d/pid" --control="$d/ctl" >"$d/syslog-ng.log" 2>&1 &
  local sng=$!
  wait_lines "$start" "$out" "$N"
  kill "$sng"; wait "$sng" 2>/dev/null || true
}
# The anchor (../shared/bench): the message text only.
sng_s=$(run_syslog_ng '$MSG\n')
# The same JSON sandlog writes, for a like-for-like output.
sng_json_s=$(run_syslog_ng '$(format-json --scope nv-pairs --pair MESSAGE=$MSG --pair HOST=$HOST --pair SOURCE=$SOURCE --pair PRI=$PRI --pair FACILITY=$FACILITY --pair SEVERITY=$SEVERITY --pair ISODATE=$ISODATE)\n')

# --- sandlog -----------------------------------------------------------
# $1: the source's inline policy. Prints the seconds until all N lines are
# written (the run's debug log stays in $d/sandlog.log).
run_sandlog() {
  local bin=${2:-$sandlog}
  local out="$d/sandlog.out"
  rm -f "$out"
  cat > "$d/sandlog.toml" <<TOML
[[source]]
name = "bench"
script = "bench.py"
class = "Bench"
options = { n = "$N" }
policy = $1

[[destination]]
type = "file"
path = "sandlog.out"
TOML
  local start
  start=$(python3 -c 'import time; print(time.time())')
  "$bin" --cache-dir "$d/cache" --state-dir "$d/state" --log-level sandlog=debug run "$d/sandlog.toml" 2>"$d/sandlog.log" &
  local sl=$!
  wait_lines "$start" "$out" "$N"
  kill -TERM "$sl"; wait "$sl" || true
}
# Tight limits: what a hosting operator would set per tenant.
sl_strict_s=$(run_sandlog '{ memory = "64MiB", cpu = "10ms", max_message_size = "64KiB", max_handles = 64 }')
# Limits as loose as they go: the cost of the limits is the difference.
sl_loose_s=$(run_sandlog '{ memory = "4GiB", cpu = "1s", max_message_size = "1GiB", max_handles = 100000 }')
# The default policy: the headline figure (and its log gives init time).
sl_s=$(run_sandlog '{}')
cp "$d/sandlog.log" "$d/sandlog-default.log"
before_s=0
if [ -n "${SANDLOG_BEFORE:-}" ]; then
  "$SANDLOG_BEFORE" --cache-dir "$d/cache" prepare 2>/dev/null
  before_s=$(run_sandlog '{}' "$SANDLOG_BEFORE")
fi

# --- sandlog forwarding to syslog-ng ------------------------------------
# syslog-ng receives RFC 5424 over TCP (flow-controlled, so nothing is
# dropped) and writes $MSG to a file, as its python() source did above.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$d/receiver.conf" <<CONF
@version: ${version:-3.38}
options { stats-freq(0); keep-hostname(yes); };
source s_net { syslog(ip(127.0.0.1) port($port) transport(tcp) log-iw-size(20000) log-fetch-limit(1000)); };
destination d_file { file("$d/forwarded.out" template("\$MSG\n") flush-lines(1000)); };
log { source(s_net); destination(d_file); flags(flow-control); };
CONF
rm -f "$d/p"
syslog-ng -F -f "$d/receiver.conf" --persist-file="$d/p" --pidfile="$d/pid" --control="$d/ctl" >"$d/receiver.log" 2>&1 &
receiver=$!
python3 - "$port" <<'PY'
import socket, sys, time
for _ in range(3000):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        break
    except OSError:
        time.sleep(0.01)
PY
cat > "$d/forward.toml" <<TOML
[[source]]
name = "bench"
script = "bench.py"
class = "Bench"
options = { n = "$N" }

[[destination]]
type = "syslog"
transport = "tcp"
address = "127.0.0.1:$port"
TOML
start=$(python3 -c 'import time; print(time.time())')
"$sandlog" --cache-dir "$d/cache" --state-dir "$d/state" run "$d/forward.toml" 2>"$d/forward.log" &
fwd=$!
fwd_s=$(wait_lines "$start" "$d/forwarded.out" "$N")
kill -TERM "$fwd"; wait "$fwd" || true
kill "$receiver"; wait "$receiver" 2>/dev/null || true
init_ms=$(sed -n 's/.*instantiated and initialised elapsed=\([^ ]*\).*/\1/p' "$d/sandlog-default.log" | head -1)
render=$(sed -n 's/.*render_time=\([^ ]*\).*/\1/p' "$d/sandlog-default.log" | head -1)

# Start-up: process start to the first message on stdout, median of 10.
cat > "$d/first.toml" <<'TOML'
[[source]]
name = "first"
class = "First"
code = """
from syslogng import LogSource, LogMessage
class First(LogSource):
    def run(self):
        self.post_message(LogMessage("first"))
    def request_exit(self):
        pass
"""
TOML
first_s=$(python3 - "$sandlog" "$d/cache" "$d/first.toml" <<'PY'
import statistics, subprocess, sys, time
times = []
for _ in range(10):
    t0 = time.perf_counter()
    p = subprocess.Popen([sys.argv[1], "--cache-dir", sys.argv[2], "--state-dir", sys.argv[2] + "/state", "run", sys.argv[3]],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    p.stdout.readline()
    times.append(time.perf_counter() - t0)
    p.wait()
print(f"{statistics.median(times):.4f}")
PY
)

python3 - "$N" "$sng_s" "$sl_s" "$first_s" "$init_ms" "$sng_json_s" "$sl_strict_s" "$sl_loose_s" "$render" "$fwd_s" "$before_s" <<'PY'
import re, sys
n, sng, sl, first, init, sngj = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], float(sys.argv[6])
strict, loose = float(sys.argv[7]), float(sys.argv[8])
print(f"messages:                 {n}")
print(f"syslog-ng python(), $MSG: {sng:.3f} s  {n/sng:,.0f} msg/s")
print(f"syslog-ng python(), JSON: {sngj:.3f} s  {n/sngj:,.0f} msg/s")
print(f"sandlog (JSON lines):     {sl:.3f} s  {n/sl:,.0f} msg/s")
print(f"ratio sandlog/syslog-ng:  {sng/sl:.2f}x ($MSG), {sngj/sl:.2f}x (JSON)")
before = float(sys.argv[11])
if before:
    print(f"sandlog, SANDLOG_BEFORE:  {before:.3f} s  {n/before:,.0f} msg/s  "
          f"({sng/before:.2f}x syslog-ng $MSG; this build / it: {before/sl:.2f}x)")
fwd = float(sys.argv[10])
print(f"sandlog -> TCP -> syslog-ng, $MSG: {fwd:.3f} s  {n/fwd:,.0f} msg/s  "
      f"(vs syslog-ng python() direct: {sng/fwd:.2f}x)")
print(f"sandlog, tight limits:    {strict:.3f} s  {n/strict:,.0f} msg/s")
print(f"sandlog, loosest limits:  {loose:.3f} s  {n/loose:,.0f} msg/s  (tight/loose: {loose/strict:.2f}x)")
print(f"sandlog start to first message: {first*1000:.0f} ms")
print(f"sandlog instantiate+init:       {init or 'n/a'}")
m = re.fullmatch(r"([0-9.]+)(ns|µs|us|ms|s)", sys.argv[9])
if m:
    secs = float(m.group(1)) * {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1}[m.group(2)]
    print(f"sandlog host rendering:         {secs * 1e6 / n:.3f} us per message")
PY
