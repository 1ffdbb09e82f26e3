"""Apply one trained reconstruction network to the low-dose test images (adapter)."""

import torch

from tact.inference import reconstruct
from tact.logs import run_step
from tact.models import NetworkSettings, load_state_dict
from tact.test_sets import load_test_set, save_test_set


def main() -> None:
    torch.set_num_threads(snakemake.threads)
    reconstructed = reconstruct(
        load_state_dict(snakemake.input.model),
        NetworkSettings(**snakemake.params.network),
        load_test_set(snakemake.input.lowdose),
        snakemake.params.device,
    )
    save_test_set(reconstructed, snakemake.output[0])


run_step(snakemake.log[0], main)
