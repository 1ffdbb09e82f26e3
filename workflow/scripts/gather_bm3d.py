"""Join the per-volume BM3D test images (adapter)."""

from tact.logs import run_step
from tact.test_sets import concatenate, load_test_set, save_test_set


def main() -> None:
    save_test_set(
        concatenate([load_test_set(p) for p in snakemake.input.volumes]), snakemake.output[0]
    )


run_step(snakemake.log[0], main)
