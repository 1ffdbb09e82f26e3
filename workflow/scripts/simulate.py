"""Simulate one volume and reconstruct it with Ram-Lak and the tuned FBP; the FBP images and
counts are kept for the test slices (adapter)."""

import numpy as np

from tact.data.slices import load_stack
from tact.logs import run_step
from tact.physics import ScanProtocol, choose_backend
from tact.readings import fbp_reading
from tact.seeding import Stream, derive_seed
from tact.simulated_data import keep_test_slices, save_measurements, save_simulation
from tact.simulation import simulate_stack
from tact.test_sets import split_test_rows


def main() -> None:
    params, vid = snakemake.params, int(snakemake.wildcards.vid)
    reading = fbp_reading(params.filter_type, params.frequency_scaling, snakemake.input.tuned)
    backend = choose_backend(params.backend)
    simulated = simulate_stack(
        load_stack(snakemake.input.store),
        ScanProtocol(**params.protocol),
        domain=params.domain,
        fbp_reading=reading,
        rng=np.random.default_rng(derive_seed(params.seed, Stream.SIMULATION, vid)),
        backend=backend,
        outside_value=params.outside_roi_value,
        keep_sinograms=params.keep_sinograms,
    )
    test_slices = split_test_rows(snakemake.input.split, vid)["slice"].to_numpy()
    simulated = keep_test_slices(simulated, test_slices)
    save_measurements(simulated, backend, snakemake.output.counts)
    save_simulation(simulated, snakemake.output.images)


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
