"""Apply the frozen segmenter to one method's test images (adapter)."""

import torch

from tact.evaluation import load_test_set, save_test_set, segment
from tact.logs import run_step
from tact.training import NetworkSettings, load_state_dict


def main() -> None:
    torch.set_num_threads(snakemake.threads)
    labels = segment(
        load_state_dict(snakemake.input.segmenter),
        NetworkSettings(**snakemake.params.network),
        load_test_set(snakemake.input.images),
        snakemake.params.device,
    )
    save_test_set(labels, snakemake.output[0])


run_step(snakemake.log[0], main)
