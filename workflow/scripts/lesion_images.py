"""The observer study's lesion-absent and lesion-present images (adapter)."""

from functools import cache

from tact.logs import run_step
from tact.observer_study import ObserverDesign, write_lesion_images
from tact.physics import Scanner, ScanProtocol, choose_backend
from tact.readings import fbp_reading
from tact.simulation import domain_extent_mm
from tact.test_sets import GroundTruth


def main() -> None:
    params = snakemake.params
    backend, protocol = choose_backend(params.backend), ScanProtocol(**params.protocol)

    @cache
    def scanner_of(size: int, col_spacing_mm: float) -> Scanner:
        extent = domain_extent_mm(params.domain, col_spacing_mm, size)
        return Scanner(size, extent, protocol, backend)

    write_lesion_images(
        GroundTruth(tuple(snakemake.input.stores), snakemake.input.split),
        ObserverDesign.from_config(params.observers, params.seed),
        scanner_of=scanner_of,
        fbp_reading=fbp_reading(
            params.filter_type, params.frequency_scaling, snakemake.input.tuned
        ),
        outside_value=params.outside_roi_value,
        path=snakemake.output[0],
    )


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
