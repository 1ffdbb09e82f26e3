"""BM3D of one volume's low-dose test slices (adapter)."""

import logging

from tact.baselines import bm3d_test_slices
from tact.logs import run_step
from tact.readings import bm3d_sigma
from tact.test_sets import save_test_set


def main() -> None:
    sigma = bm3d_sigma(snakemake.params.sigma_psd, snakemake.input.sigma)
    test_set = bm3d_test_slices(
        snakemake.input.sim, snakemake.input.split, sigma, workers=snakemake.threads
    )
    save_test_set(test_set, snakemake.output[0])
    logging.getLogger("tact").info("BM3D sigma_psd %.4g on %d test slices", sigma, len(test_set))


if __name__ == "__main__":  # its worker processes import this script again
    run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
