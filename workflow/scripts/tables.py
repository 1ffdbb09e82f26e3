"""Tables I-III (and the 3-D Table III) as CSV, Markdown, LaTeX and HTML, by g and by the
held-out segmenters, with the baselines' readings in the captions (adapter)."""

from pathlib import Path

from tact.logs import run_step
from tact.readings import read_readings
from tact.report.tables import write_tables


def main() -> None:
    params, inputs = snakemake.params, snakemake.input
    readings = read_readings(
        fbp_filter=params.fbp_filter,
        fbp_scaling=params.fbp_scaling,
        fbp_tuned_file=inputs.fbp_reading,
        sigma_psd=params.sigma_psd,
        sigma_file=inputs.sigma,
    )
    write_tables(
        inputs.per_slice,
        Path(snakemake.output.table1_pixel).parent,
        with_paper=params.with_paper,
        readings=readings.sentence(),
        per_volume_path=inputs.per_volume,
        tumour_labels=params.tumour_labels,
    )


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
