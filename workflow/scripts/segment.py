"""Segment one method's test images with every evaluating segmenter (adapter)."""

import torch

from tact.inference import segment_test_images
from tact.logs import run_step
from tact.models import NetworkSettings, load_state_dict
from tact.test_sets import TestImages


def main() -> None:
    torch.set_num_threads(snakemake.threads)
    segmenters = [
        (name, load_state_dict(path), NetworkSettings(**network))
        for name, path, network in zip(
            snakemake.params.segmenters,
            snakemake.input.segmenters,
            snakemake.params.networks,
            strict=True,
        )
    ]
    images = TestImages(
        snakemake.wildcards.name, tuple(snakemake.input.images), snakemake.input.split
    )
    segment_test_images(segmenters, images, snakemake.output[0], device=snakemake.params.device)


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
