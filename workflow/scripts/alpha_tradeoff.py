"""PSNR, Dice (by g and by the held-out segmenters) and consistency over the task weight
(adapter)."""

from tact.logs import run_step
from tact.per_slice import read_per_slice
from tact.report.figures import plot_alpha_tradeoff
from tact.report.style import save_figure


def main() -> None:
    figure = plot_alpha_tradeoff(
        read_per_slice(snakemake.input.per_slice),
        tumour_labels=snakemake.params.tumour_labels,
    )
    save_figure(figure, snakemake.output.alpha_tradeoff_png, snakemake.output.alpha_tradeoff_pdf)


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
