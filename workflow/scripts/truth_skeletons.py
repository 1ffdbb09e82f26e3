"""The skeletons of every test volume's true label maps, once for every method (adapter)."""

from tact.evaluation import save_truth_skeletons
from tact.logs import run_step
from tact.test_sets import GroundTruth


def main() -> None:
    truth = GroundTruth(tuple(snakemake.input.stores), snakemake.input.split)
    save_truth_skeletons(truth, snakemake.output[0])


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
