"""Gather the trainings' records (device, versions, weight hashes) beside the tables (adapter)."""

from tact.logs import run_step
from tact.records import write_run_record


def main() -> None:
    write_run_record(snakemake.input.records, snakemake.output[0])


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
