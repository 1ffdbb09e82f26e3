"""Pre-train one segmentation network: g, a held-out one, or a defence's (adapter)."""

import torch

from tact.logs import run_step
from tact.models import NetworkSettings
from tact.training import Job, TrainSettings, train_from_files


def main() -> None:
    torch.set_num_threads(snakemake.threads)
    params = snakemake.params
    sims = list(snakemake.input.sims)
    train_from_files(
        Job("segmentation", network=NetworkSettings(**params.network), lowdose_copies=bool(sims)),
        TrainSettings(**params.settings, **params.placement),
        store_paths=snakemake.input.stores,
        split_path=snakemake.input.split,
        model_path=snakemake.output.model,
        history_path=snakemake.output.history,
        checkpoint_path=params.checkpoint,
        record_path=snakemake.output.record,
        sim_paths=sims or None,
    )


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
