"""Write the train/test split of all extracted slices (adapter)."""

import logging

from tact.data.slices import read_slice_index
from tact.data.split import make_split, write_split
from tact.logs import run_step


def main() -> None:
    slices = dict(read_slice_index(path) for path in snakemake.input.stores)
    params = snakemake.params
    table = make_split(slices, params.by, params.test_fraction, params.seed)
    write_split(table, snakemake.output[0])
    counts = table.groupby("split")["volume"].agg(["nunique", "size"])
    logging.getLogger("tact").info("split by %s:\n%s", params.by, counts.to_string())


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
