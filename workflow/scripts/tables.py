"""Tables I-III as CSV, Markdown, LaTeX and HTML, by g and by the held-out segmenters
(adapter)."""

from pathlib import Path

from tact.logs import run_step
from tact.report.tables import write_tables


def main() -> None:
    write_tables(
        snakemake.input.per_slice,
        Path(snakemake.output.table1_pixel).parent,
        with_paper=snakemake.params.with_paper,
    )


run_step(snakemake.log[0], main)
