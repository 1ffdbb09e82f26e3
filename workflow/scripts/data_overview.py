"""Figure of example slices and a per-volume summary table (adapter)."""

from tact.logs import run_step
from tact.report.data import write_data_overview


def main() -> None:
    write_data_overview(
        snakemake.input.stores,
        snakemake.input.split,
        snakemake.output.figure,
        snakemake.output.summary,
    )


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
