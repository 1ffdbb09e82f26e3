"""Validate one case and store its non-empty-mask slices (adapter)."""

import logging
from pathlib import Path

from tact.data.labels import LabelMapping
from tact.data.layouts import Case
from tact.data.slices import extract_slices, save_stack
from tact.data.volumes import read_case
from tact.logs import run_step


def main() -> None:
    case = Case(
        int(snakemake.wildcards.vid), Path(snakemake.input.image), Path(snakemake.input.mask)
    )
    volume = read_case(case, LabelMapping.from_config(snakemake.params.labels))
    stack = extract_slices(volume, snakemake.params.image_size)
    save_stack(stack, snakemake.output[0])
    logging.getLogger("tact").info(
        "volume %d: %d of %d slices have a non-empty mask; spacing %s mm",
        case.volume_id,
        len(stack),
        len(volume.labels),
        stack.spacing_mm.round(4).tolist(),
    )


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
