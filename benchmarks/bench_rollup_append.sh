#!/bin/sh
# A cron `rollup` over a live JSONL log, two source trees in turns: each has its own WORK folder (WORK/old, WORK/new)
# holding a copy of the fleet's predictions.jsonl as `live.jsonl`, its config and its store, built once (warm-up,
# `rollup --no-ready`); before each timed run 10,000 rows are appended to both copies (the fleet's last 10,000 rows,
# shifted later by K times their span, request ids made unique), then `rollup --no-ready --format json` runs.
# Prints wall, user and system time, peak RSS and how many built hours the run rebuilt for changed sources.
#
#   flock /tmp/bench.lock nice -n 5 sh benchmarks/bench_rollup_append.sh /tmp/ra OLD/src NEW/src 2
base=$1; old=$2; new=$3; rounds=${4:-2}; fleet=${FLEET:-/tmp/fleet/rows-1000000}
for code in old new; do
  work=$base/$code; mkdir -p "$work"
  [ -f "$work/live.jsonl" ] || cp "$fleet/predictions.jsonl" "$work/live.jsonl"
  sed -e '/^\[\[logs\]\]/,$d' "$fleet/mlops-console-jsonl.toml" > "$work/mlops-console.toml"
  printf '[store]\npath = "store"\n[[logs]]\nkind = "predictions"\npath = "live.jsonl"\n' >> "$work/mlops-console.toml"
  sed -n '/^\[models/,$p' "$fleet/mlops-console-jsonl.toml" | sed "s#reference = \"#reference = \"$fleet/#" \
    >> "$work/mlops-console.toml"
done
append() {  # WORK K
  python3 "$(dirname "$0")/append_shifted.py" "$1/live.jsonl" "$2" "$fleet/predictions.jsonl"
}
run() {  # CODE SRC ROUND
  work=$base/$1
  (cd "$work" && XDG_CACHE_HOME=$work/cache PYTHONPATH=$2 /usr/bin/time -f "%e %U %S %M" python -m console \
    --config mlops-console.toml rollup --no-ready --format json > "$work/out-$3.json" 2> "$work/err-$3")
  python3 - "$1" "$3" "$work/out-$3.json" "$work/err-$3" <<'PY'
import json, sys
code, rnd, out, err = sys.argv[1:]
e, u, s, m = open(err).read().split("\n")[-2].split()
got = json.load(open(out))
print(f"{code} round {rnd}: {e} s wall, {u} s user, {s} s sys, {int(m) // 1024} MB; "
      f"{got.get('source_hours_rebuilt', 0)} built hour(s) rebuilt {got.get('source_hours_why', {})}, "
      f"{got.get('ranges_built', 0)} range(s) built")
PY
}
echo "load before: $(cat /proc/loadavg)"
for code in old new; do
  [ -d "$base/$code/store/rollups" ] || { src=$old; [ $code = new ] && src=$new; run $code "$src" 0; }
done
for r in $(seq "$rounds"); do
  for code in old new; do append "$base/$code" "$r"; done
  run old "$old" "$r"; run new "$new" "$r"
done
echo "load after: $(cat /proc/loadavg)"
