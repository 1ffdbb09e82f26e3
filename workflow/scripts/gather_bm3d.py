"""Join the per-volume BM3D test images (adapter)."""

from tact.evaluation import concatenate, load_test_set, save_test_set
from tact.logs import run_step


def main() -> None:
    save_test_set(concatenate([load_test_set(p) for p in snakemake.input]), snakemake.output[0])


run_step(snakemake.log[0], main)
