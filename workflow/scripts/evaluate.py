"""Metrics of one method on every test slice, by every segmenter (adapter)."""

import pandas as pd

from tact.evaluation import method_table
from tact.io import write_csv
from tact.logs import run_step
from tact.test_sets import gather_ground_truth, load_label_sets, load_test_set


def main() -> None:
    truth, masks, spacing = gather_ground_truth(snakemake.input.stores, snakemake.input.split)
    table = method_table(
        snakemake.wildcards.name,
        truth,
        masks,
        spacing,
        load_test_set(snakemake.input.images),
        load_label_sets(snakemake.input.labels),
        pd.read_csv(snakemake.input.consistency),
        snakemake.params.tolerance_mm,
    )
    write_csv(table, snakemake.output[0])


run_step(snakemake.log[0], main)
