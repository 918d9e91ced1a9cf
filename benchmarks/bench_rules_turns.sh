#!/bin/sh
# `check`, `snapshot` and `drift MODEL --window 24h` of two source trees in turns on one warm store (a copy of a
# benchmark fleet's, with its rollups built), each a fresh process; then the direct DuckDB query. Prints time,
# user CPU and peak RSS per run.
#
#   cp -r /tmp/fleet/rows-1000000/cache-parquet /tmp/w/cache-1000000     # a private copy of the warm store
#   (build its rollups once: bench_rules.py shows the `rollup` command line for the fleet's config)
#   flock /tmp/bench.lock nice -n 5 sh benchmarks/bench_rules_turns.sh 1000000 /tmp/w/cache-1000000 OLD/src NEW/src 2
#
# NEW runs twice a round: "new-eval" with the store's kept answers removed first (`answer_memo`: every rule is
# evaluated, as after any change of the rows; the closed windows' evaluations, `rule_memo`, are kept as for OLD),
# then "new" on the same state (answered from what new-eval kept). Outputs: /tmp/turns-ROWS-CMD-CODE-ROUND.json.
rows=$1; cache=$2; old=$3; new=$4; rounds=${5:-2}
config=/tmp/fleet/rows-$rows/mlops-console-parquet.toml
here=$(dirname "$0")
echo "load before: $(cat /proc/loadavg)"
for r in $(seq "$rounds"); do
  for cmd in check snapshot drift; do
    for code in old new-eval new; do
      if [ "$code" = old ]; then src=$old; else src=$new; fi
      if [ "$code" = new-eval ]; then rm -f "$cache"/mlops-console/store-*/answers.memo.json; fi
      case $cmd in
        check) args="check --at latest --all --format json" ;;
        snapshot) args="snapshot --at latest --format json" ;;
        drift) args="drift fraud-detector --window 24h --at latest --format json" ;;
      esac
      XDG_CACHE_HOME=$cache PYTHONPATH=$src /usr/bin/time -f "$rows $cmd $code round $r: %e s, %U s user, %M KB" \
        python -m console --config "$config" $args > "/tmp/turns-$rows-$cmd-$code-$r.json" 2>/tmp/turns.err
      grep "round" /tmp/turns.err
    done
  done
done
direct=$(python -c "import sys; sys.path.insert(0, '$here'); from bench_datapath import DIRECT; print(DIRECT)")
for i in 1 2 3; do /usr/bin/time -f "$rows direct: %e s, %U s user, %M KB" python -c "$direct" parquet "/tmp/fleet/rows-$rows" 2>&1 >/dev/null | tail -1; done
echo "load after: $(cat /proc/loadavg)"
