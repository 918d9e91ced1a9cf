#!/bin/sh
# A new user's first commands, two source trees in turns: `check` and `snapshot` on an empty store (the week's
# hourly rollups are built first), then `drift --window 24h` and `7d` as the first read of their `--at` on the
# store the cold `check` left. Wall, user and sys CPU, peak RSS and the load average, from /usr/bin/time.
#
#   sh benchmarks/bench_cold_turns.sh OLD/src NEW/src [ROUNDS] [CONFIG] [WORK]
#
# CONFIG defaults to the 1M fleet's Parquet config (benchmarks/fleet.py); the stores live under WORK
# (default /tmp/bench-cold), never in the fleet. Prints one line per run; asserts nothing.
old=$1; new=$2; rounds=${3:-2}; cfg=${4:-/tmp/fleet/rows-1000000/mlops-console-parquet.toml}; work=${5:-/tmp/bench-cold}
py=${PYTHON:-python}
timed() {  # LABEL CODE-SRC STORE ARGS...
  label=$1; src=$2; store=$3; shift 3
  XDG_CACHE_HOME=$store PYTHONPATH=$src /usr/bin/time -f "$label: %e s wall, %U user, %S sys, %M KB (load $(cut -d' ' -f1 /proc/loadavg))" \
    "$py" -m console --config "$cfg" "$@" --format json > /dev/null 2> "$work/err"
  tail -1 "$work/err"
}
mkdir -p "$work"
for r in $(seq "$rounds"); do
  for code in old new; do
    src=$old; [ $code = new ] && src=$new
    for cmd in check snapshot; do
      rm -rf "$work/$code-$cmd"
      timed "$cmd cold $code round $r" "$src" "$work/$code-$cmd" $cmd --at latest
    done
    # a different --at each round: the first read of that window, not a kept answer
    timed "drift 24h first read $code round $r" "$src" "$work/$code-check" drift fraud-detector --window 24h --at "2026-11-29T2$r:30:00"
    timed "drift 7d first read $code round $r" "$src" "$work/$code-check" drift fraud-detector --window 7d --at "2026-11-29T2$r:30:00"
  done
done
