# Data stage: built-in phantom -> canonical slices per volume -> train/test split.


rule phantom:
    """Generate one phantom case: a LiTS-layout NIfTI pair, or DICOM series (phantom.format)."""
    input:
        code=script_code("phantom.py"),
    output:
        **phantom_outputs(),
    log:
        f"{LOGS}/phantom/volume-{{vid}}.log",
    benchmark:
        f"{BENCHMARKS}/phantom/volume-{{vid}}.tsv"
    conda:
        "../../envs/cpu.yaml"
    threads: 1
    resources:
        mem_mb=memory("phantom", 4000),
        runtime=minutes("phantom", 10),
    params:
        seed=phantom_seed(),
        size=config["phantom"]["size"],
        n_slices=config["phantom"]["n_slices"],
        slice_thickness_mm=config["phantom"]["slice_thickness_mm"],
        fov_mm=config["phantom"]["fov_mm"],
        format=config["phantom"]["format"],
    script:
        "../scripts/phantom.py"


rule extract_slices:
    """Validate one case (NIfTI or DICOM, labels mapped by data.labels), keep its slices with a
    non-empty mask, store them in one file."""
    input:
        unpack(volume_pair),
        code=script_code("extract_slices.py"),
    output:
        f"{RESULTS}/data/slices/volume-{{vid}}.h5",
    log:
        f"{LOGS}/extract_slices/volume-{{vid}}.log",
    benchmark:
        f"{BENCHMARKS}/extract_slices/volume-{{vid}}.tsv"
    conda:
        "../../envs/cpu.yaml"
    threads: 1
    resources:
        mem_mb=memory("extract_slices", 8000),
        runtime=minutes("extract_slices", 30),
    params:
        image_size=config["data"]["image_size"],
        labels=LABELS.as_config(),
    script:
        "../scripts/extract_slices.py"


rule split:
    """Assign every extracted slice to train or test (by volume unless configured)."""
    input:
        stores=slice_stores(),
        code=script_code("split.py"),
    output:
        f"{RESULTS}/data/split.csv",
    log:
        f"{LOGS}/split.log",
    benchmark:
        f"{BENCHMARKS}/split.tsv"
    conda:
        "../../envs/cpu.yaml"
    threads: 1
    resources:
        mem_mb=memory("split", 2000),
        runtime=minutes("split", 10),
    params:
        by=config["data"]["split"]["by"],
        test_fraction=config["data"]["split"]["test_fraction"],
        seed=config["seed"],
    script:
        "../scripts/split.py"


rule data_overview:
    """A look at the data: example slices with their masks, and per-volume counts."""
    input:
        stores=slice_stores(),
        split=f"{RESULTS}/data/split.csv",
        code=script_code("data_overview.py"),
    output:
        figure=report(
            f"{RESULTS}/figures/data_overview.png",
            caption="../report/data_overview.rst",
            category="Data",
        ),
        summary=report(
            f"{RESULTS}/tables/data_summary.csv",
            caption="../report/data_summary.rst",
            category="Data",
        ),
    log:
        f"{LOGS}/data_overview.log",
    benchmark:
        f"{BENCHMARKS}/data_overview.tsv"
    conda:
        "../../envs/cpu.yaml"
    threads: 1
    resources:
        mem_mb=memory("data_overview", 4000),
        runtime=minutes("data_overview", 10),
    script:
        "../scripts/data_overview.py"
