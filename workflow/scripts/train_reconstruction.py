"""Train one reconstruction network: base, task-adaptive or joint (adapter)."""

import torch

from tact.logs import run_step
from tact.models import NetworkSettings
from tact.training import Job, TrainSettings, train_from_files


def main() -> None:
    torch.set_num_threads(snakemake.threads)
    params = snakemake.params
    train_from_files(
        Job(
            params.job["kind"],
            params.job["weight"],
            network=NetworkSettings(**params.network),
            segmenter_network=NetworkSettings(**params.segmenter_network),
        ),
        TrainSettings(**params.settings),
        snakemake.input.stores,
        snakemake.input.split,
        snakemake.output.model,
        snakemake.output.history,
        params.checkpoint,
        sim_paths=snakemake.input.sims,
        segmenter_paths=list(snakemake.input.segmenters),
        initial_weights_path=snakemake.input.initial_weights or None,
    )


run_step(snakemake.log[0], main)
