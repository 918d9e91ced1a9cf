#!/bin/sh
# `check` and `snapshot` of two source trees in turns on one warm store (a copy of a benchmark fleet's, with its
# rollups built), each a fresh process; then the direct DuckDB query. Prints time and peak RSS per run.
#
#   cp -r /tmp/fleet/rows-1000000/cache-parquet /tmp/w/cache-1000000     # a private copy of the warm store
#   (build its rollups once: bench_rules.py shows the `rollup` command line for the fleet's config)
#   flock /tmp/bench.lock nice -n 5 sh benchmarks/bench_rules_turns.sh 1000000 /tmp/w/cache-1000000 OLD/src NEW/src 2
#
# The first round of NEW after a store change also fills the rule memo (`rule_memo`); later rounds read it.
rows=$1; cache=$2; old=$3; new=$4; rounds=${5:-2}
config=/tmp/fleet/rows-$rows/mlops-console-parquet.toml
here=$(dirname "$0")
echo "load before: $(cat /proc/loadavg)"
for r in $(seq "$rounds"); do
  for cmd in check snapshot; do
    for code in old new; do
      if [ "$code" = old ]; then src=$old; else src=$new; fi
      if [ "$cmd" = check ]; then args="check --at latest --all --format json"; else args="snapshot --at latest --format json"; fi
      XDG_CACHE_HOME=$cache PYTHONPATH=$src /usr/bin/time -f "$rows $cmd $code round $r: %e s, %M KB" \
        python -m console --config "$config" $args > "/tmp/turns-$rows-$cmd-$code-$r.json" 2>/tmp/turns.err
      grep "round" /tmp/turns.err
    done
  done
done
direct=$(python -c "import sys; sys.path.insert(0, '$here'); from bench_datapath import DIRECT; print(DIRECT)")
for i in 1 2 3; do /usr/bin/time -f "$rows direct: %e s, %M KB" python -c "$direct" parquet "/tmp/fleet/rows-$rows" 2>&1 >/dev/null | tail -1; done
echo "load after: $(cat /proc/loadavg)"
