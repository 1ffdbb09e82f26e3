"""Table IV and its figure from every method's observer results (adapter)."""

from tact.logs import run_step
from tact.report.observers import write_observer_report


def main() -> None:
    output = snakemake.output
    write_observer_report(
        snakemake.input.per_method,
        output.table.removesuffix(".csv"),
        (output.detectability_png, output.detectability_pdf),
        snakemake.params.observers,
    )


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
