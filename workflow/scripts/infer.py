"""Apply one trained reconstruction network to the low-dose test images (adapter)."""

import torch

from tact.inference import reconstruct_test_images
from tact.logs import run_step
from tact.models import NetworkSettings, load_state_dict
from tact.test_sets import TestImages


def main() -> None:
    torch.set_num_threads(snakemake.threads)
    reconstruct_test_images(
        load_state_dict(snakemake.input.model),
        NetworkSettings(**snakemake.params.network),
        TestImages("lowdose", tuple(snakemake.input.lowdose), snakemake.input.split),
        snakemake.output[0],
        device=snakemake.params.device,
    )


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
