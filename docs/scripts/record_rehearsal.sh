#!/usr/bin/env bash
# The scale rehearsal on our lent GPU machine (issue 32, docs/scale.md): config/rehearsal.yaml
# with N phantom volumes, then bench/scale.py collect. The stack comes from .gpudeps (packed by
# ../shared/gpu/pack-deps .gpudeps h5py).
#
#   docs/scripts/record_rehearsal.sh start N     start the run in its own session, return
#   docs/scripts/record_rehearsal.sh wait N DEST wait (up to WAIT_S seconds) for it, then collect
#                                                into DEST: rehearsal-N.json, its summary, logs
#                                                (PARTIAL=1: collect what finished, if it has not)
#
# Trainings share the GPU three at a time (four, at 21 GiB each, ran out of an H100's 80 GiB),
# two threads each (their data lives on the GPU); inference, segmentation and consistency do not
# wait for a training to end (a --set-resources on the command line replaces the profile's whole
# list, so the trainings' GPU is named again here). BM3D gets 8 workers: the run's test volumes
# are one or two, and with the rule's 4 the one test volume's BM3D outlasted everything else.
# On the lent machine, `start` in one call (carry .gpudeps) and `wait` in the next, which must
# NOT name .gpudeps in carry: the copy replaces it under the running jobs, which then fail
# (No module named 'snakemake'), as both runs of 2026-12-06 did 13.5 minutes in.
# GPU_SLOTS (default 3) sets how many trainings share the GPU: two sizes recorded side by side on
# one machine split its memory between them (--nolock: their outputs lie in separate runs).
# UNTIL="rule ..." stops the run after those rules (Snakemake's --until): the trainings alone,
# for example, when the device time left is too short for the whole rehearsal.
set -euo pipefail
what=${1:?usage: record_rehearsal.sh start|wait N [DEST]}
n=${2:?number of phantom volumes}
dest=$(realpath -m "${3:-.}")
# Every device call re-sends the working tree, which can break a run begun in the same seconds
# (record_showcase.sh says more): the runs work in a copy, made by the first start.
scratch=${RECORD_SCRATCH:-/tmp}  # the copy of the tree and the runs' logs go here
tree=$scratch/tact-rehearsal-tree
[ "$what" != start ] || [ -d "$tree" ] || { mkdir -p "$scratch" && cp -a . "$tree"; }
cd "$tree"
source .gpudeps/use-deps .gpudeps
export PYTHONPATH="$PWD/src:${PYTHONPATH:-}" PYTHONUNBUFFERED=1 PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True
run=rehearsal-$n
args=(--profile profiles/local --scheduler greedy --configfile config/rehearsal.yaml
  --config "run=$run" "phantom={\"n_volumes\": $n}")
jobs=(--nolock --resources gpu=${GPU_SLOTS:-3} --set-resources train_segmentation:gpu=1 train_reconstruction:gpu=1
  --set-threads train_segmentation=2 train_reconstruction=2 infer=2 segment=2 bm3d=8)
until=()
[ -z "${UNTIL:-}" ] || read -ra until <<< "--until $UNTIL"
case $what in
  start)
    date -u +%s > "$scratch/$run.start"
    setsid bash -c "snakemake all ${args[*]@Q} ${jobs[*]@Q} ${until[*]@Q} > ${scratch@Q}/$run.log 2>&1; echo \$? > ${scratch@Q}/$run.rc" \
      < /dev/null > /dev/null 2>&1 &
    ;;
  wait)
    deadline=$(( $(date -u +%s) + ${WAIT_S:-500} ))
    while [ ! -f "$scratch/$run.rc" ] && [ "$(date -u +%s)" -lt "$deadline" ]; do sleep 10; done
    mkdir -p "$dest"
    cp "$scratch/$run.log" "$dest/$run.snakemake.log"
    if [ -f "$scratch/$run.rc" ]; then
      echo "exit $(cat "$scratch/$run.rc"), wall $(( $(stat -c %Y "$scratch/$run.rc") - $(cat "$scratch/$run.start") )) s"
    else  # PARTIAL=1: collect the jobs that finished (the machine goes back with the rest)
      tail -5 "$scratch/$run.log"; echo "still running after $(( $(date -u +%s) - $(cat "$scratch/$run.start") )) s"
      [ -n "${PARTIAL:-}" ] || exit 0
    fi
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    du -sb "results/$run" | tee "$dest/$run.du.txt"  # the measured size of results/{run}
    snakemake "${args[@]}" --summary > "$dest/$run.summary.tsv" 2>/dev/null
    python3 bench/scale.py collect "results/$run" --summary "$dest/$run.summary.tsv" \
      --out "$dest/$run.json"
    tar czf "$dest/$run.logs.tar.gz" --ignore-failed-read "results/$run/logs" "results/$run/benchmarks" \
      "results/$run/tables" "results/$run/training"
    ;;
esac
