"""The model observer on a trained network's images of the lesion study (adapter)."""

import torch

from tact.inference import network_images
from tact.io import write_csv
from tact.logs import run_step
from tact.models import NetworkSettings, load_state_dict
from tact.observer_study import ObserverDesign, observe


def main() -> None:
    torch.set_num_threads(snakemake.threads)
    params = snakemake.params
    method = network_images(
        load_state_dict(snakemake.input.model),
        NetworkSettings(**params.network),
        device=params.device,
    )
    design = ObserverDesign.from_config(params.observers, params.seed)
    table = observe(snakemake.input.images, snakemake.wildcards.name, design, method)
    write_csv(table, snakemake.output[0])


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
