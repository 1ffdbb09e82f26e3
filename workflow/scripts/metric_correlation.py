"""Pixel metrics against anatomy metrics: Spearman table and figure (adapter)."""

from tact.logs import run_step
from tact.per_slice import read_per_slice
from tact.report.figures import write_metric_correlation


def main() -> None:
    write_metric_correlation(
        read_per_slice(snakemake.input.per_slice),
        snakemake.output.table,
        snakemake.output.table_html,
        snakemake.output.metric_correlation_png,
        snakemake.output.metric_correlation_pdf,
    )


run_step(snakemake.log[0], main)
