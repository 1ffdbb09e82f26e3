"""Data consistency of one method's test images with the measured counts (adapter)."""

import torch

from tact.consistency import consistency_of_test_images
from tact.io import write_csv
from tact.logs import run_step
from tact.physics import ScanProtocol
from tact.test_sets import GroundTruth, TestImages


def main() -> None:
    torch.set_num_threads(snakemake.threads)
    split = snakemake.input.split
    table = consistency_of_test_images(
        TestImages(snakemake.wildcards.name, tuple(snakemake.input.images), split),
        GroundTruth(tuple(snakemake.input.stores), split),
        snakemake.input.counts,
        protocol=ScanProtocol(**snakemake.params.protocol),
        backend=snakemake.params.backend,
    )
    write_csv(table, snakemake.output[0])


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
