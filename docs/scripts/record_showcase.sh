#!/usr/bin/env bash
# Record a showcase run on our lent GPU machine (no internet; the stack comes from .gpudeps,
# packed by ../shared/gpu/pack-deps with monai) and pack what docs/showcase/ keeps.
#
#   docs/scripts/record_showcase.sh smoke            tiny config with every new step, GPU paths
#   docs/scripts/record_showcase.sh showcase DEST    make showcase-run, collected into DEST
#   docs/scripts/record_showcase.sh seeds DEST       make showcase-seeds-run, collected into DEST
#                                                    (SEEDS="1": that seed alone; its seed-1/
#                                                    joins docs/showcase/seeds/ by seeds_collect.py)
#   docs/scripts/record_showcase.sh each DEST        each seed of SEEDS alone, one after the
#                                                    other, each packed when done (DEST/seed-N/)
#   docs/scripts/record_showcase.sh both DEST        the showcase alone, then the seeds, into
#                                                    DEST/showcase and DEST/seeds
#   docs/scripts/record_showcase.sh detach DEST MODE  "MODE DEST" in a session of its own (it
#                                                    outlives the device call), run from a copy of
#                                                    the tree in $RECORD_SCRATCH/tact-tree (/tmp
#                                                    by default); DEST/DONE marks its end
#   docs/scripts/record_showcase.sh collect DEST SECS     wait up to SECS for DEST/DONE, then copy
#                                                    every .tar.gz under DEST into $OUT (flat names)
#
# DEST is a folder (e.g. $OUT on the device); the collected docs land there as a .tar.gz with
# the Snakemake logs, the wall time and the machine's description.
#
# On our lent machine a record outlasts one call (10 min): `detach` in the first call (carry
# .gpudeps), `collect` in the next ones (carry nothing: a re-sent .gpudeps replaces it under the
# running jobs). Every call re-sends the working tree: a showcase that began in the same seconds
# as the next call failed 15 s in (H200, 2026-12-07; its log went with the machine, the same
# steps ran here), so `detach` runs from a copy that later calls cannot touch.
set -euo pipefail
what=${1:?usage: record_showcase.sh smoke|showcase|seeds|each|both|detach|collect [DEST]}
dest=${2:-.}
scratch=${RECORD_SCRATCH:-/tmp}  # the collected docs and detach's copy of the tree go here
case $what in
  detach)
    : "${3:?usage: record_showcase.sh detach DEST MODE}"
    dest=$(realpath -m "$dest") tree=$scratch/tact-tree
    mkdir -p "$dest" "$scratch" && rm -rf "$tree" && cp -a . "$tree"
    (cd "$tree" && setsid bash -c "bash docs/scripts/record_showcase.sh ${3@Q} ${dest@Q} > ${dest@Q}/detach.log 2>&1; touch ${dest@Q}/DONE" \
      < /dev/null > /dev/null 2>&1 &)
    exit 0
    ;;
  collect)
    deadline=$(( $(date -u +%s) + ${3:?usage: record_showcase.sh collect DEST SECS} ))
    while [ ! -e "$dest/DONE" ] && [ "$(date -u +%s)" -lt "$deadline" ]; do sleep 5; done
    [ -e "$dest/DONE" ] && echo "done" || echo "still running"
    tail -c 2000 "$dest/detach.log" 2>/dev/null || true
    find "$dest" -name '*.tar.gz' | while read -r tarball; do
      name=${tarball#"$dest"/}; cp "$tarball" "${OUT:?}/${name//\//-}"
    done
    exit 0
    ;;
esac
source .gpudeps/use-deps .gpudeps
export PYTHONPATH="$PWD/src:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
mkdir -p "$dest"

machine() {  # the first lines of machine.txt; ended() adds the end and the wall time
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  nproc
  python3 -c 'import torch; print("torch", torch.__version__)'
  git log -1 --format='commit %H'
  git status --short -- . ':!docs/showcase' | head -20  # docs/showcase/ is moved aside to carry less
  echo "started $(date -u '+%F %T') UTC: record_showcase.sh $what${SEEDS:+ (SEEDS=$SEEDS)}"
}

ended() {  # $1: the start, in seconds
  echo "ended $(date -u '+%F %T') UTC"
  echo "wall_s $(( $(date -u +%s) - $1 )) (the make target: the workflow, tables and report)"
}

log_of() { grep -l "results/$1/" .snakemake/log/*.snakemake.log | head -1; }

case $what in
  smoke)
    mkdir -p /tmp/smoke
    cat > /tmp/smoke/c.yaml <<'EOF'
run: smoke
data: {source: phantom, image_size: 64}
phantom: {n_volumes: 3, size: 128, n_slices: 16, slice_thickness_mm: 5.0}
simulation: {n_angles: 200}
fbp: {tuning_slices: 3}
segmentation: {base_channels: 8, depth: 2}
reconstruction: {base_channels: 8, depth: 2}
training: {epochs: 2, batch_size: 4}
task_adaptive: {alphas: [0.5], defences: [none, ensemble, robust, noise]}
joint: {cs: [0.5]}
evaluation: {held_out_architecture: [same, segresnet]}
EOF
    time snakemake --snakefile "$PWD/Snakefile" --directory /tmp/smoke --configfile /tmp/smoke/c.yaml \
      --cores 16 all
    grep -h "projector backend\|consistency" /tmp/smoke/results/smoke/logs/consistency/*.log | sort | uniq -c | head
    cat /tmp/smoke/results/smoke/tables/table2_dice.md /tmp/smoke/results/smoke/tables/table1_pixel.md
    ;;
  showcase)
    machine > "$dest/machine.txt"
    start=$(date -u +%s)
    make showcase-run SNAKEMAKE=snakemake
    ended "$start" >> "$dest/machine.txt"
    python3 docs/scripts/showcase_collect.py results/showcase "$scratch/docs/run" --log "$(log_of showcase)"
    cp "$(log_of showcase)" "$scratch/docs/run/snakemake.log"
    cp "$dest/machine.txt" "$scratch/docs/run/"
    tar -czf "$dest/showcase.tar.gz" -C "$scratch/docs" run
    ;;
  seeds)  # the seeds of SEEDS one after the other (the Makefile says why), packed together at
    # the end; a seed alone took 12-16 min on an H100 and 12 on an H200 (2026-12-07): `each`
    # packs each, its machine.txt in its own folder
    seeds=${SEEDS:-0 1 2}
    machine > "$dest/machine.txt"
    start=$(date -u +%s)
    make showcase-seeds-run SNAKEMAKE=snakemake SEEDS="$seeds"
    ended "$start" >> "$dest/machine.txt"
    runs=()
    for seed in $seeds; do runs+=("results/showcase-seeds-$seed:$(log_of "showcase-seeds-$seed")"); done
    rm -rf "$scratch/docs/seeds"  # a tarball holds its own seeds only
    python3 docs/scripts/seeds_collect.py "$scratch/docs/seeds" "${runs[@]}"
    cp "$dest/machine.txt" "$scratch/docs/seeds/"
    [ "$(wc -w <<< "$seeds")" -gt 1 ] || cp "$dest/machine.txt" "$scratch/docs/seeds/seed-$seeds/"
    tar -czf "$dest/seeds.tar.gz" -C "$scratch/docs" seeds
    ;;
  each)  # the seeds of SEEDS one after the other, each alone on the machine and packed into
    # DEST/seed-N/seeds.tar.gz as soon as it is done: what finished survives a session whose
    # device time runs out (a seed alone took 12 min 19 s and 15 min 55 s on an H100 and 11 min
    # 47 s on an H200, so two take most of a session's 30 min)
    for seed in ${SEEDS:-0 1 2}; do
      mkdir -p "$dest/seed-$seed"
      SEEDS=$seed bash "$0" seeds "$dest/seed-$seed" > "$dest/seed-$seed/log" 2>&1 ||
        echo "seed $seed failed" >&2
    done
    ;;
  both)  # one after the other, so that the showcase's time is its own
    mkdir -p "$dest/showcase" "$dest/seeds"
    bash "$0" showcase "$dest/showcase" > "$dest/showcase/log" 2>&1 || echo "showcase failed" >&2
    bash "$0" seeds "$dest/seeds" > "$dest/seeds/log" 2>&1 || echo "seeds failed" >&2
    ;;
  *) echo "unknown: $what" >&2; exit 2 ;;
esac
