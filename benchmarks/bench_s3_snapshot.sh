#!/bin/sh
# `snapshot` and `check` of two source trees in turns, over the same fleet from a local folder and from S3 (moto
# on 127.0.0.1), each a fresh process; each code and source with its own store and its own copy of the rollups
# (a run's catch-up and rule memo never serve the other). Per command: "cold" (an empty store: the first
# process, which lists and counts every object), "eval" (the store kept, its kept answers removed: every rule
# evaluated, as after a change of the rows) and "again" (the same state: a kept answer when the code keeps one).
# Prints wall, user, sys and peak RSS per run, with the load average; outputs in $WORK/out/.
#
#   WORK=/tmp/s3snap: local.toml and s3.toml there (logs at the fleet / s3://bench/logs/, [rollups] path =
#   "ROLLUPS"), rollups built once in $WORK/rollups (`rollup` command), moto started (benchmarks/bench_rollups.py
#   --s3 shows how: tests/s3_server.py, upload_tree)
#   flock /tmp/bench.lock nice -n 5 sh benchmarks/bench_s3_snapshot.sh /tmp/s3snap OLD/src NEW/src 2
work=$1; old=$2; new=$3; rounds=${4:-1}
mkdir -p "$work/out"
for code in old new; do
  for src in local s3; do
    [ -d "$work/rollups-$code-$src" ] || cp -r "$work/rollups" "$work/rollups-$code-$src"
    sed "s#^path = \"$work/rollups\"#path = \"$work/rollups-$code-$src\"#" "$work/$src.toml" > "$work/$code-$src.toml"
  done
done
for r in $(seq "$rounds"); do
  for src in local s3; do
    for cmd in snapshot check; do
      case $cmd in
        snapshot) args="snapshot --at latest --format json" ;;
        check) args="check --at latest --all --format json" ;;
      esac
      for code in old new; do rm -rf "$work/cache-$code-$src-$cmd"; done
      for phase in cold eval again; do
        for code in old new; do
          if [ "$code" = old ]; then tree=$old; else tree=$new; fi
          cache=$work/cache-$code-$src-$cmd
          [ "$phase" = eval ] && rm -f "$cache"/mlops-console/store-*/answers.memo.json
          load=$(cut -d' ' -f1-3 /proc/loadavg)
          XDG_CACHE_HOME=$cache PYTHONPATH=$tree /usr/bin/time -f "%e s wall, %U user, %S sys, %M KB" \
            python -m console --config "$work/$code-$src.toml" $args > "$work/out/$src-$cmd-$phase-$code-$r.json" \
            2>"$work/out/err"
          echo "round $r | $src | $cmd | $phase | $code | $(tail -1 "$work/out/err") | load $load"
        done
      done
    done
  done
done
