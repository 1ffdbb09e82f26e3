"""Segment one method's test images with every evaluating segmenter (adapter)."""

import torch

from tact.inference import segment
from tact.logs import run_step
from tact.models import NetworkSettings, load_state_dict
from tact.test_sets import load_test_set, save_label_sets


def main() -> None:
    torch.set_num_threads(snakemake.threads)
    images = load_test_set(snakemake.input.images)
    labels = {
        name: segment(
            load_state_dict(path),
            NetworkSettings(**network),
            images,
            snakemake.params.device,
        )
        for name, path, network in zip(
            snakemake.params.segmenters,
            snakemake.input.segmenters,
            snakemake.params.networks,
            strict=True,
        )
    }
    save_label_sets(labels, snakemake.output[0])


run_step(snakemake.log[0], main)
