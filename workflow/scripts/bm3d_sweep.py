"""BM3D's sigma by a sweep on random training slices (adapter)."""

import numpy as np

from tact.baselines import bm3d_sweep_from_files
from tact.io import write_csv
from tact.logs import run_step
from tact.readings import write_bm3d_sigma
from tact.seeding import Stream, derive_seed


def main() -> None:
    params = snakemake.params
    best, table = bm3d_sweep_from_files(
        snakemake.input.stores,
        snakemake.input.sims,
        snakemake.input.split,
        sigmas=params.sigmas,
        n_slices=params.n_slices,
        rng=np.random.default_rng(derive_seed(params.seed, Stream.BM3D_SWEEP)),
        workers=snakemake.threads,
    )
    write_csv(table, snakemake.output.table)
    write_bm3d_sigma(snakemake.output.choice, best, int(table["n_slices"][0]))


if __name__ == "__main__":  # its worker processes import this script again
    run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
