"""Figures 2-4 of one example test slice, segmentations by g and a held-out segmenter
(adapter; input.labels: label files with every evaluating segmenter's maps)."""

import logging

from tact.logs import run_step
from tact.report.figures import slice_figures_from_files


def main() -> None:
    volume, slice_ = slice_figures_from_files(
        snakemake.params.methods,
        image_files=snakemake.params.image_files,
        label_paths=snakemake.input.labels,
        store_paths=snakemake.input.stores,
        split_path=snakemake.input.split,
        per_slice_path=snakemake.input.per_slice,
        paths=dict(snakemake.output.items()),
        example=tuple(snakemake.params.example),
    )
    logging.getLogger("tact").info("example slice: volume %d, slice %d", volume, slice_)


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
