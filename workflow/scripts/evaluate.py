"""Metrics of every method on every test slice: per_slice.csv (adapter)."""

from tact.evaluation import gather_ground_truth, load_test_set, per_slice_table
from tact.io import write_csv
from tact.logs import run_step


def main() -> None:
    truth, masks, spacing = gather_ground_truth(snakemake.input.stores, snakemake.input.split)
    methods = {
        name: (load_test_set(images), load_test_set(labels))
        for name, images, labels in zip(
            snakemake.params.methods, snakemake.input.images, snakemake.input.labels, strict=True
        )
    }
    table = per_slice_table(truth, masks, spacing, methods, snakemake.params.tolerance_mm)
    write_csv(table, snakemake.output[0])


run_step(snakemake.log[0], main)
