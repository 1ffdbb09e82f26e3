"""Pre-train the segmentation network (adapter)."""

import torch

from tact.logs import run_step
from tact.training import Job, NetworkSettings, TrainSettings, train_from_files


def main() -> None:
    torch.set_num_threads(snakemake.threads)
    params = snakemake.params
    train_from_files(
        Job("segmentation", network=NetworkSettings(**params.network)),
        TrainSettings(**params.settings),
        snakemake.input.stores,
        snakemake.input.split,
        snakemake.output.model,
        snakemake.output.history,
        params.checkpoint,
    )


run_step(snakemake.log[0], main)
