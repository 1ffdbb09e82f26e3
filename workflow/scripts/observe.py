"""The model observer on a baseline's images of the lesion study (adapter)."""

from functools import partial

from tact.baselines import bm3d_images
from tact.io import write_csv
from tact.logs import run_step
from tact.observer_study import ObserverDesign, observe
from tact.readings import bm3d_sigma


def main() -> None:
    params, name = snakemake.params, snakemake.wildcards.name
    method = None
    if name == "bm3d":
        sigma = bm3d_sigma(params.sigma_psd, snakemake.input.sigma)
        method = partial(bm3d_images, sigma_psd=sigma, workers=snakemake.threads)
    design = ObserverDesign.from_config(params.observers, params.seed)
    write_csv(observe(snakemake.input.images, name, design, method), snakemake.output[0])


if __name__ == "__main__":  # BM3D's worker processes import this script again
    run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
