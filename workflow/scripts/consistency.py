"""Data consistency of one method's test images with the measured counts (adapter)."""

import torch

from tact.consistency import consistency_of_test_set, measurements_of
from tact.io import write_csv
from tact.logs import run_step
from tact.physics import ScanProtocol
from tact.test_sets import gather_ground_truth, load_test_set


def main() -> None:
    torch.set_num_threads(snakemake.threads)
    truth, _, _ = gather_ground_truth(snakemake.input.stores, snakemake.input.split)
    images = load_test_set(snakemake.input.images)
    table = consistency_of_test_set(
        images,
        truth,
        measurements_of(snakemake.input.counts, images.volumes),
        protocol=ScanProtocol(**snakemake.params.protocol),
        backend=snakemake.params.backend,
    )
    write_csv(table, snakemake.output[0])


run_step(snakemake.log[0], main)
