#!/usr/bin/env bash
# Does any of our own choices in g's pre-training (those the paper leaves open) make segmenters
# of different seeds agree on images they were not trained on? Six segmenters (g and five
# held-out ones) per variant of the showcase config, all variants side by side on one GPU
# machine, then docs/scripts/segmenter_spread.py per variant (issue 17; docs/showcase/spread/).
#
#   docs/scripts/spread_variants.sh DEST   (on our lent GPU machine, from the packed .gpudeps)
#
# DEST gets one table per variant and a .tar.gz of the per-method CSVs and training histories.
set -euo pipefail
dest=${1:?usage: spread_variants.sh DEST}
source .gpudeps/use-deps .gpudeps
export PYTHONPATH="$PWD/src:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
mkdir -p "$dest" /tmp/spread
declare -A variants=(
  [current]=""
  [wide]="segmentation: {base_channels: 32}"
  [dice-ce]="segmentation: {cross_entropy: true}"
  [patient]="training: {early_stopping_patience: 40, lr_patience: 8}"
)
pids=()
for name in "${!variants[@]}"; do
  printf 'run: spread-%s\nevaluation: {held_out_segmenters: 5}\n%s\n' "$name" "${variants[$name]}" \
    > "/tmp/spread/$name.yaml"
  targets=()
  for method in fulldose fbp base; do targets+=("results/spread-$name/metrics/per_method/$method.csv"); done
  snakemake --profile profiles/local --cores 4 --resources gpu=4 \
    --set-resources infer:gpu=0 segment:gpu=0 consistency:gpu=0 \
    --set-threads train_segmentation=1 train_reconstruction=1 infer=1 segment=1 \
    --scheduler greedy --configfile config/showcase.yaml "/tmp/spread/$name.yaml" \
    -- "${targets[@]}" > "$dest/$name.log" 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
for name in "${!variants[@]}"; do
  python3 docs/scripts/segmenter_spread.py "results/spread-$name/metrics/per_method" \
    "$dest/$name.md" || status=1
done
tar -czf "$dest/spread.tar.gz" results/spread-*/metrics/per_method results/spread-*/training /tmp/spread
exit $status
