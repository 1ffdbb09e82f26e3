#!/usr/bin/env bash
# Issue 34: the same config run twice on one GPU gives the same weights and tables, with several
# trainings sharing the GPU and, in the second run, the reconstruction trainings killed at their
# first checkpoint and resumed from it. On the lent machine, in one call (carry .gpudeps):
#
#   docs/scripts/repeat_on_gpu.sh $OUT
#
# Writes into DEST (default .) the three Snakemake logs, the resumed trainings' log lines and
# check_record.py's comparison of results/repeat-a with results/repeat-b; exits as that does.
set -uo pipefail
dest=${1:-.}
[ -f .gpudeps/use-deps ] && source .gpudeps/use-deps .gpudeps  # the lent machine's stack
export PYTHONPATH="$PWD/src:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
args=(--profile profiles/local --configfile config/repeat.yaml --resources gpu=3
  --set-resources train_segmentation:gpu=1 train_reconstruction:gpu=1
  --set-threads train_segmentation=2 train_reconstruction=2)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$dest/gpu.txt" || true
snakemake all "${args[@]}" --config run=repeat-a > "$dest/repeat-a.log" 2>&1 || exit 1
descendants() { local p; for p in $(pgrep -P "$1"); do echo "$p"; descendants "$p"; done; }
snakemake all "${args[@]}" --config run=repeat-b > "$dest/repeat-b.log" 2>&1 &
run_b=$!
deadline=$((SECONDS + 600))
until compgen -G "results/repeat-b/checkpoints/task_*.ckpt" > /dev/null; do
  [ "$SECONDS" -lt "$deadline" ] || { echo "no checkpoint in 10 minutes"; exit 1; }
  sleep 0.2
done
for pid in $(descendants "$run_b"); do  # this run's trainings only: others may share the GPU
  grep -q "train_reconstruction" "/proc/$pid/cmdline" 2>/dev/null && kill -KILL "$pid" \
    && echo "killed reconstruction training $pid"
done
wait  # Snakemake stops: the killed jobs failed
snakemake all "${args[@]}" --config run=repeat-b > "$dest/repeat-b-resumed.log" 2>&1 || exit 1
grep -h "resumed from" results/repeat-b/logs/train/*.log | tee "$dest/resumed.txt"
python3 docs/scripts/check_record.py results/repeat-a results/repeat-b | tee "$dest/check.txt"
exit "${PIPESTATUS[0]}"
