"""Every method's metrics in one table each: per_slice.csv, per_volume.csv and per_lesion.csv
(adapter)."""

import pandas as pd

from tact.io import write_csv
from tact.logs import run_step
from tact.per_slice import order_rows


def gather(paths: list[str], out: str) -> None:
    write_csv(order_rows(pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)), out)


def main() -> None:
    gather(snakemake.input.per_slice, snakemake.output.per_slice)
    gather(snakemake.input.per_volume, snakemake.output.per_volume)
    gather(snakemake.input.per_lesion, snakemake.output.per_lesion)


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
