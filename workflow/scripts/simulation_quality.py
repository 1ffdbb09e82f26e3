"""Per-slice PSNR/SSIM of the low-dose and FBP images, and an example figure (adapter)."""

from tact.logs import run_step
from tact.report.simulation import write_simulation_quality


def main() -> None:
    write_simulation_quality(
        snakemake.input.stores,
        snakemake.input.sims,
        snakemake.input.split,
        table_path=snakemake.output.table,
        figure_path=snakemake.output.figure,
    )


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
