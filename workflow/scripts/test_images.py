"""Full-dose, low-dose or FBP images of every test slice, in one file (adapter)."""

from tact.evaluation import gather_test_images
from tact.logs import run_step
from tact.test_sets import save_test_set


def main() -> None:
    source = snakemake.wildcards.source
    test_set = gather_test_images(
        source, snakemake.input.stores, snakemake.input.split, snakemake.input.sims
    )
    save_test_set(test_set, snakemake.output[0])


run_step(snakemake.log[0], main)
