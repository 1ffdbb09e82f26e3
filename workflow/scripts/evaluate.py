"""Metrics of one method on every test slice, test volume and true lesion, by every segmenter
(adapter)."""

import pandas as pd

from tact.evaluation import method_tables_from_files
from tact.io import write_csv
from tact.logs import run_step
from tact.test_sets import GroundTruth, TestImages


def main() -> None:
    split = snakemake.input.split
    per_slice, per_volume, per_lesion = method_tables_from_files(
        TestImages(snakemake.wildcards.name, tuple(snakemake.input.images), split),
        GroundTruth(tuple(snakemake.input.stores), split),
        snakemake.input.labels,
        skeletons=snakemake.input.skeletons,
        consistency=pd.read_csv(snakemake.input.consistency),
        tolerance_mm=snakemake.params.tolerance_mm,
        tumour_labels=snakemake.params.tumour_labels,
        lesion_iou=snakemake.params.lesion_iou,
        workers=snakemake.threads,
    )
    write_csv(per_slice, snakemake.output.per_slice)
    write_csv(per_volume, snakemake.output.per_volume)
    write_csv(per_lesion, snakemake.output.per_lesion)


if __name__ == "__main__":  # its worker processes import this script again
    run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
