#!/usr/bin/env bash
# Throughput: the same server-style source posting N messages (MESSAGE plus
# one custom field) into a file, under real syslog-ng (its python() source)
# and under sandlog, in one run. Each is timed from process start until all
# N lines are in the file. Also reports sandlog's start-up: process start to
# first message, and instantiate+init per source.
#
# usage: bench/throughput.sh [N]      (default 1000000)
# Installs syslog-ng from Debian when it is missing; builds sandlog --release.
set -euo pipefail
N=${1:-1000000}
root=$(cd "$(dirname "$0")/.." && pwd)

if ! command -v syslog-ng >/dev/null || [ ! -e /usr/lib/syslog-ng/3.38/libmod-python.so ] && ! ls /usr/lib/syslog-ng/*/libmod-python.so >/dev/null 2>&1; then
  echo "installing syslog-ng-core and syslog-ng-mod-python" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq syslog-ng-core syslog-ng-mod-python >/dev/null
fi

(cd "$root" && cargo build --release -q -p sandlog)
sandlog="$root/target/release/sandlog"
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
"$sandlog" --cache-dir "$d/cache" prepare 2>/dev/null

# Counts lines as they arrive; prints the seconds from $1 (epoch seconds)
# until the file holds $3 lines.
wait_lines() {
  local start=$1 file=$2 want=$3
  while [ "$( (wc -l < "$file") 2>/dev/null || echo 0)" -lt "$want" ]; do sleep 0.01; done
  python3 -c "import time; print(f'{time.time() - $start:.3f}')"
}

cat > "$d/bench.py" <<'PY'
from syslogng import LogSource, LogMessage
class Bench(LogSource):
    def init(self, options):
        self.n = int(options["n"]); self.exit = False
        return True
    def run(self):
        for i in range(self.n):
            msg = LogMessage(b"hello %d" % i)
            msg["seq"] = str(i)
            self.post_message(msg)
        import time
        while not self.exit:
            time.sleep(0.01)
    def request_exit(self):
        self.exit = True
PY

# --- syslog-ng ---------------------------------------------------------
version=$(syslog-ng --version | sed -n 's/^Config version: *//p' | head -1)
{
  echo "@version: ${version:-3.38}"
  echo 'options { stats-freq(0); };'
  echo 'python {'
  cat "$d/bench.py"
  echo '};'
  echo "source s_py { python(class(\"Bench\") options(\"n\" \"$N\")); };"
  echo "destination d_file { file(\"$d/syslog-ng.out\" template(\"\$MSG\\n\")); };"
  echo 'log { source(s_py); destination(d_file); };'
} > "$d/syslog-ng.conf"
start=$(python3 -c 'import time; print(time.time())')
syslog-ng -F -f "$d/syslog-ng.conf" --persist-file="$d/p" --pidfile="$d/pid" --control="$d/ctl" >"$d/syslog-ng.log" 2>&1 &
sng=$!
sng_s=$(wait_lines "$start" "$d/syslog-ng.out" "$N")
kill "$sng"; wait "$sng" 2>/dev/null || true

# --- sandlog -----------------------------------------------------------
cat > "$d/sandlog.toml" <<TOML
[[source]]
name = "bench"
script = "bench.py"
class = "Bench"
options = { n = "$N" }

[[destination]]
type = "file"
path = "sandlog.out"
TOML
start=$(python3 -c 'import time; print(time.time())')
"$sandlog" --cache-dir "$d/cache" --log-level sandlog=debug run "$d/sandlog.toml" 2>"$d/sandlog.log" &
sl=$!
first_s=$(wait_lines "$start" "$d/sandlog.out" 1)
sl_s=$(wait_lines "$start" "$d/sandlog.out" "$N")
kill -TERM "$sl"; wait "$sl" || true
init_ms=$(sed -n 's/.*instantiated and initialised elapsed=\([^ ]*\).*/\1/p' "$d/sandlog.log" | head -1)

python3 - "$N" "$sng_s" "$sl_s" "$first_s" "$init_ms" <<'PY'
import sys
n, sng, sl, first, init = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
print(f"messages:                 {n}")
print(f"syslog-ng python():       {sng:.3f} s  {n/sng:,.0f} msg/s")
print(f"sandlog:                  {sl:.3f} s  {n/sl:,.0f} msg/s")
print(f"ratio sandlog/syslog-ng:  {sng/sl:.2f}x")
print(f"sandlog start to first message: {first*1000:.0f} ms")
print(f"sandlog instantiate+init:       {init or 'n/a'}")
PY
