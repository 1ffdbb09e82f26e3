"""Every method's metrics in one table: per_slice.csv (adapter)."""

import pandas as pd

from tact.io import write_csv
from tact.logs import run_step
from tact.per_slice import order_per_slice


def main() -> None:
    tables = [pd.read_csv(path) for path in snakemake.input.tables]
    write_csv(order_per_slice(pd.concat(tables, ignore_index=True)), snakemake.output[0])


run_step(snakemake.log[0], main)
