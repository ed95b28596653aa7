#!/usr/bin/env bash
# Instructions per posted message, counted by callgrind (machine noise does
# not change them): the source of bench/throughput.sh posting N1 and then
# N2 messages into a file, each run to its end under callgrind; the
# difference of the two totals over N2 - N1 is what one more message costs
# the whole process (guest, host, destination), start-up cancelled out.
# Then the same count for real syslog-ng running the same class in its
# python() source and writing $MSG (the throughput anchor), when it is
# installed, and the ratio of the two.
#
# usage: bench/post_cost.sh [N1] [N2]        (default 5000 25000)
#        SANDLOG=path/to/sandlog bench/post_cost.sh   to count another build
# Needs valgrind (apt-get install valgrind). Uses the dev build by default.
set -euo pipefail
N1=${1:-5000}
N2=${2:-25000}
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${SANDLOG:-}" ]; then
  (cd "$root" && cargo build -q -p sandlog)
  SANDLOG="$root/target/debug/sandlog"
fi
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind" >&2; exit 1; }
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
# Compiled under valgrind too: the compiled guest's cache key includes the
# CPU features wasmtime detects, and valgrind's CPU lacks some of the
# host's (AVX-512 here), so a guest compiled outside it would be compiled
# again inside the first counted run, and counted.
valgrind --tool=none -q "$SANDLOG" --cache-dir "$d/cache" prepare 2>/dev/null

cat > "$d/bench.py" <<'PY'
from syslogng import LogSource, LogMessage
class Bench(LogSource):
    def init(self, options):
        self.n = int(options["n"])
        return True
    def run(self):
        for i in range(self.n):
            msg = LogMessage(b"hello %d" % i)
            msg["seq"] = str(i)
            self.post_message(msg)
    def request_exit(self):
        pass
PY

# $1: messages. Prints the instructions callgrind counted for the run.
count() {
  local n=$1
  cat > "$d/c.toml" <<TOML
[[source]]
name = "bench"
script = "bench.py"
class = "Bench"
options = { n = "$n" }
restart = "never"

[[destination]]
type = "file"
path = "$d/out.jsonl"
TOML
  rm -f "$d/out.jsonl" "$d"/cg.out*
  valgrind --tool=callgrind --callgrind-out-file="$d/cg.out" \
    "$SANDLOG" --cache-dir "$d/cache" --state-dir "$d/state" run "$d/c.toml" >/dev/null 2>"$d/vg.err"
  local lines
  lines=$(wc -l < "$d/out.jsonl")
  [ "$lines" -eq "$n" ] || { echo "expected $n lines, got $lines" >&2; tail "$d/vg.err" >&2; exit 1; }
  # Every thread's file; the totals line of each.
  cat "$d"/cg.out* | sed -n 's/^totals: *//p' | awk '{s += $1} END {printf "%.0f\n", s}'
}

# The anchor's class (bench/anchor_source.py): the same loop, then waiting
# for its exit, since a syslog-ng source that returns from run() is not
# stopped.
cp "$root/bench/anchor_source.py" "$d/sng_bench.py"

# $1: messages. The same for syslog-ng's python() source running the same
# class and writing $MSG into a file (the anchor of ../shared/bench):
# syslog-ng does not end by itself, so it is stopped (SIGTERM, after which
# callgrind writes its counts) once all lines are in the file; what its
# source's 10 ms sleep loop costs until then is noise of a few thousand
# instructions per wake-up.
count_syslog_ng() {
  local n=$1 out="$d/sng.out"
  rm -f "$out" "$d"/sng.cg* "$d/sng.persist"
  {
    echo "@version: ${version:-3.38}"
    echo 'options { stats-freq(0); };'
    echo 'python {'
    cat "$d/sng_bench.py"
    echo '};'
    echo "source s_py { python(class(\"Bench\") options(\"n\" \"$n\")); };"
    echo "destination d_file { file(\"$out\" template(\"\$MSG\\n\")); };"
    echo 'log { source(s_py); destination(d_file); };'
  } > "$d/sng.conf"
  valgrind --tool=callgrind --callgrind-out-file="$d/sng.cg" syslog-ng -F -f "$d/sng.conf" \
    --persist-file="$d/sng.persist" --pidfile="$d/sng.pid" --control="$d/sng.ctl" >"$d/sng.log" 2>&1 &
  local pid=$! deadline=$((SECONDS + 600))
  while [ "$( (wc -l < "$out") 2>/dev/null || echo 0)" -lt "$n" ]; do
    if ! kill -0 "$pid" 2>/dev/null || [ "$SECONDS" -gt "$deadline" ]; then
      kill "$pid" 2>/dev/null || true
      echo "syslog-ng did not write $n lines" >&2; tail "$d/sng.log" >&2; exit 1
    fi
    sleep 0.5
  done
  kill -TERM "$pid"; wait "$pid" || true
  cat "$d"/sng.cg* | sed -n 's/^totals: *//p' | awk '{s += $1} END {printf "%.0f\n", s}'
}

a=$(count "$N1")
b=$(count "$N2")
echo "instructions: $N1 messages $a, $N2 messages $b"
sandlog_per=$(( (b - a) / (N2 - N1) ))
echo "per message: $sandlog_per"
if command -v syslog-ng >/dev/null && ls /usr/lib/syslog-ng/*/libmod-python*.so >/dev/null 2>&1; then
  version=$(syslog-ng --version | sed -n 's/^Config version: *//p' | head -1)
  a=$(count_syslog_ng "$N1")
  b=$(count_syslog_ng "$N2")
  sng_per=$(( (b - a) / (N2 - N1) ))
  echo "syslog-ng python(), \$MSG: $N1 messages $a, $N2 messages $b, per message: $sng_per"
  python3 -c "print(f'sandlog / syslog-ng instructions per message: {$sandlog_per / $sng_per:.2f}x')"
else
  echo "syslog-ng with its python module is not installed (bench/throughput.sh installs it): no side-by-side count"
fi
