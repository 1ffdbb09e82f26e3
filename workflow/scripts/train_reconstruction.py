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
        TrainSettings(**params.settings, **params.placement),
        store_paths=snakemake.input.stores,
        split_path=snakemake.input.split,
        model_path=snakemake.output.model,
        history_path=snakemake.output.history,
        checkpoint_path=params.checkpoint,
        record_path=snakemake.output.record,
        sim_paths=snakemake.input.sims,
        segmenter_paths=list(snakemake.input.segmenters),
        initial_weights_path=snakemake.input.initial_weights or None,
    )


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
