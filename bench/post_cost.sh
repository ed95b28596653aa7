#!/usr/bin/env bash
# Instructions per posted message, counted by callgrind (machine noise does
# not change them): the source of bench/throughput.sh posting N1 and then
# N2 messages into a file, each run to its end under callgrind; the
# difference of the two totals over N2 - N1 is what one more message costs
# the whole process (guest, host, destination), start-up cancelled out.
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
"$SANDLOG" --cache-dir "$d/cache" prepare 2>/dev/null

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
  cat "$d"/cg.out* | sed -n 's/^totals: *//p' | awk '{s += $1} END {printf "%d\n", s}'
}

a=$(count "$N1")
b=$(count "$N2")
echo "instructions: $N1 messages $a, $N2 messages $b"
echo "per message: $(( (b - a) / (N2 - N1) ))"
