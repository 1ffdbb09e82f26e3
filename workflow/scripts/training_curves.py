"""Training curves of every model: segmenters (g, held-out, ensemble, robust) and
reconstructions (adapter)."""

from tact.logs import run_step
from tact.report.style import save_figure
from tact.report.training_curves import plot_training_curves, read_histories


def main() -> None:
    figure = plot_training_curves(read_histories(snakemake.input.histories))
    save_figure(figure, snakemake.output.training_curves_png, snakemake.output.training_curves_pdf)


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
