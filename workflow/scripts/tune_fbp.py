"""Tune the FBP baseline's filter and/or frequency scaling on a few training slices (adapter)."""

import numpy as np

from tact.data.split import read_split
from tact.io import write_csv
from tact.logs import run_step
from tact.physics import ScanProtocol, choose_backend
from tact.readings import write_fbp_reading
from tact.seeding import Stream, derive_seed
from tact.simulation import FILTERS, tune_from_stores


def main() -> None:
    params = snakemake.params
    filter_type, scaling = params.filter_type, params.frequency_scaling
    filter_type, scaling, table = tune_from_stores(
        snakemake.input.stores,
        read_split(snakemake.input.split),
        n_slices=params.n_slices,
        protocol=ScanProtocol(**params.protocol),
        domain=params.domain,
        rng=np.random.default_rng(derive_seed(params.seed, Stream.FBP_TUNING)),
        filter_types=FILTERS if filter_type == "auto" else (filter_type,),
        scaling=None if scaling == "auto" else float(scaling),
        backend=choose_backend(params.backend),
        workers=snakemake.threads,
    )
    write_csv(table, snakemake.output.table)
    psnr = float(table.loc[table["chosen"], "psnr_mean"].iloc[0])
    n_slices = int(table["n_slices"].iloc[0])
    write_fbp_reading(
        snakemake.output.choice, filter_type, scaling, psnr_db=psnr, n_slices=n_slices
    )


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
