"""Table V (lesion-wise detection per method and segmenter) and Figure S3 (recall by lesion
diameter) from per_lesion.csv (adapter)."""

from tact.logs import run_step
from tact.report.detection import write_lesion_detection


def main() -> None:
    output = snakemake.output
    write_lesion_detection(
        snakemake.input.per_lesion,
        snakemake.input.per_volume,
        output.table.removesuffix(".csv"),
        (output.lesion_recall_by_size_png, output.lesion_recall_by_size_pdf),
        iou=snakemake.params.lesion_iou,
        tumour_labels=snakemake.params.tumour_labels,
    )


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
