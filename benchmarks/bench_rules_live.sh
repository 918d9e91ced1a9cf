#!/bin/sh
# `check` of two source trees in turns after a change of the rows: before each run 10,000 rows are appended to a
# live JSONL log configured beside the 1M fleet's Parquet (a cron `check` on a live log: the kept answers and
# the catch-up's record no longer hold, the open hours are rebuilt and every rule's latest windows evaluated).
# The config and log live in WORK (never in the fleet); the first run builds the store and rollups (warm-up).
#
#   flock /tmp/bench.lock nice -n 5 sh benchmarks/bench_rules_live.sh /tmp/live1m OLD/src NEW/src 2
#
# The appended rows are the fleet's last 10,000 rows of predictions.jsonl, shifted later by K times their span
# (K counts the appends), request ids made unique. Outputs: WORK/live-CODE-ROUND.json.
# FLEET (default the 1M fleet) and SOURCE (the rows to shift, default FLEET's predictions.jsonl) give a variant:
#   FLEET=/tmp/fleet/rows-10000000 SOURCE=/tmp/fleet/rows-1000000/predictions.jsonl LABEL=10M sh ... /tmp/live10m ...
# SPLIT=1: each code gets a WORK folder of its own (WORK/old, WORK/new: config, live log, store, each warmed up by
# that code), the same rows appended to both before each turn; for a change of what the store or the rollup
# folder holds (a file format), which a store shared by both codes would mix.
base=$1; old=$2; new=$3; rounds=${4:-2}; fleet=${FLEET:-/tmp/fleet/rows-1000000}
source=${SOURCE:-$fleet/predictions.jsonl}; label=${LABEL:-1M}
workdir() { if [ -n "$SPLIT" ]; then echo "$base/$1"; else echo "$base"; fi; }
for work in $(workdir old) $(workdir new); do
  mkdir -p "$work"
  sed -e "s#path = \"logs\"#path = \"$fleet/logs\"#" -e "s#reference = \"#reference = \"$fleet/#" \
      -e 's#name = "bench-parquet"#name = "bench-live"#' "$fleet/mlops-console-parquet.toml" > "$work/mlops-console.toml"
done
append() {
  python "$(dirname "$0")/append_shifted.py" "$work/live.jsonl" "$1" "$source"
}
run() {  # CODE-LABEL SRC ROUND
  work=$(workdir "${1%-*}"); [ "$1" = warm-up ] && work=$(workdir "$4")
  k=$(cat "$work/appended" 2>/dev/null || echo 0); k=$((k + 1)); append $k; echo $k > "$work/appended"
  XDG_CACHE_HOME=$work/cache PYTHONPATH=$2 /usr/bin/time -f "$label + 10,000 new rows: check $1 round $3: %e s, %U s user, %S s sys, %M KB" \
    python -m console --config "$work/mlops-console.toml" check --at latest --all --format json > "$work/live-$1-$3.json" 2>"$work/err"
  grep "round" "$work/err"
}
echo "load before: $(cat /proc/loadavg)"
if [ -n "$SPLIT" ]; then
  [ -d "$(workdir old)/cache" ] || run warm-up "$old" 0 old
  [ -d "$(workdir new)/cache" ] || run warm-up "$new" 0 new
else
  [ -d "$base/cache" ] || run warm-up "$new" 0
fi
for r in $(seq "$rounds"); do run old "$old" "$r"; run new "$new" "$r"; done
echo "load after: $(cat /proc/loadavg)"
