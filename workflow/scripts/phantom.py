"""Generate one phantom case in the LiTS layout (thin adapter around tact.data.phantom)."""

import logging
from pathlib import Path

from tact.data.phantom import PhantomSpec, generate_volume, write_dicom_case, write_lits_pair
from tact.logs import run_step
from tact.seeding import derive_seed


def main() -> None:
    params, vid = snakemake.params, int(snakemake.wildcards.vid)
    spec = PhantomSpec(
        size=params.size,
        n_slices=params.n_slices,
        slice_thickness_mm=params.slice_thickness_mm,
        fov_mm=tuple(params.fov_mm),
    )
    volume = generate_volume(derive_seed(params.seed, vid), spec)
    if params.format == "dicom":
        write_dicom_case(volume, Path(snakemake.output.image).parent, vid)
    else:
        write_lits_pair(volume, Path(snakemake.output.image).parent, vid)
    logging.getLogger("tact").info(
        "phantom %d: %s voxels, spacing %s mm, tumours %s mm",
        vid,
        volume.hu.shape,
        volume.spacing_mm,
        [round(d, 1) for d in volume.tumour_diameters_mm],
    )


run_step(snakemake.log[0], main, mem_mb=snakemake.resources.mem_mb)
