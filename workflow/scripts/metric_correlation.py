"""Pixel metrics against anatomy metrics: Spearman table and figure (adapter)."""

from tact.logs import run_step
from tact.per_slice import read_per_slice
from tact.report.correlation import write_metric_correlation


def main() -> None:
    write_metric_correlation(
        read_per_slice(snakemake.input.per_slice),
        table_path=snakemake.output.table,
        html_path=snakemake.output.table_html,
        png_path=snakemake.output.metric_correlation_png,
        pdf_path=snakemake.output.metric_correlation_pdf,
        tumour_labels=snakemake.params.tumour_labels,
    )


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
