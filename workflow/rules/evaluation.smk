# Baselines and evaluation: BM3D, inference, frozen segmentation of every method, metrics.

EVALUATION_CODE = [
    "evaluation.py",
    "baselines.py",
    "metrics/__init__.py",
    "metrics/pixel.py",
    "metrics/anatomy.py",
    "models.py",
    "training.py",
    "roi.py",
    "simulation.py",
    "data/slices.py",
    "data/split.py",
]


rule test_images:
    """The full-dose, low-dose (Ram-Lak) or FBP images of every test slice."""
    input:
        stores=slice_stores(),
        sims=simulations(),
        split=f"{RESULTS}/data/split.csv",
        code=library_code(*EVALUATION_CODE),
    output:
        f"{RESULTS}/test/{{source}}.npz",
    log:
        f"{LOGS}/test_images/{{source}}.log",
    conda:
        "../../envs/cpu.yaml"
    threads: 1
    resources:
        mem_mb=16000,
        runtime=30,
    script:
        "../scripts/test_images.py"


rule bm3d_sweep:
    """BM3D's sigma_psd by PSNR on a few random training slices (when bm3d.sigma_psd is auto)."""
    input:
        stores=slice_stores(),
        sims=simulations(),
        split=f"{RESULTS}/data/split.csv",
        code=library_code(*EVALUATION_CODE),
    output:
        table=report(
            f"{RESULTS}/baselines/bm3d_sweep.csv",
            caption="../report/bm3d_sweep.rst",
            category="Baselines",
        ),
        choice=f"{RESULTS}/baselines/bm3d_sigma.json",
    log:
        f"{LOGS}/bm3d_sweep.log",
    benchmark:
        f"{BENCHMARKS}/bm3d_sweep.tsv"
    conda:
        "../../envs/cpu.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=240,
    params:
        sigmas=config["bm3d"]["sweep_sigmas"],
        n_slices=config["bm3d"]["sweep_slices"],
        seed=config["seed"],
    script:
        "../scripts/bm3d_sweep.py"


rule bm3d:
    """BM3D of one volume's low-dose test slices."""
    input:
        sim=f"{RESULTS}/sim/volume-{{vid}}.npz",
        split=f"{RESULTS}/data/split.csv",
        sigma=bm3d_sigma_file(),
        code=library_code(*EVALUATION_CODE),
    output:
        f"{RESULTS}/baselines/bm3d/volume-{{vid}}.npz",
    log:
        f"{LOGS}/bm3d/volume-{{vid}}.log",
    benchmark:
        f"{BENCHMARKS}/bm3d/volume-{{vid}}.tsv"
    conda:
        "../../envs/cpu.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=360,
    params:
        sigma_psd=config["bm3d"]["sigma_psd"],
    script:
        "../scripts/bm3d.py"


rule gather_bm3d:
    """The BM3D images of every test slice, in one file."""
    input:
        expand(f"{RESULTS}/baselines/bm3d/volume-{{vid}}.npz", vid=VOLUME_IDS),
    output:
        f"{RESULTS}/test/bm3d.npz",
    log:
        f"{LOGS}/gather_bm3d.log",
    conda:
        "../../envs/cpu.yaml"
    threads: 1
    resources:
        mem_mb=16000,
        runtime=30,
    script:
        "../scripts/gather_bm3d.py"


rule infer:
    """A trained reconstruction network applied to the low-dose test images."""
    input:
        model=f"{RESULTS}/models/{{method}}.pt",
        lowdose=f"{RESULTS}/test/lowdose.npz",
        code=library_code(*EVALUATION_CODE),
    output:
        f"{RESULTS}/test/{{method}}.npz",
    log:
        f"{LOGS}/infer/{{method}}.log",
    conda:
        "../../envs/gpu.yaml"
    threads: 4
    resources:
        mem_mb=32000,
        runtime=60,
    params:
        network=config["reconstruction"],
        device=config["training"]["device"],
    script:
        "../scripts/infer.py"


rule segment:
    """The frozen pre-trained segmenter applied to one method's test images."""
    input:
        images=f"{RESULTS}/test/{{name}}.npz",
        segmenter=f"{RESULTS}/models/segmentation.pt",
        code=library_code(*EVALUATION_CODE),
    output:
        f"{RESULTS}/test/{{name}}.labels.npz",
    log:
        f"{LOGS}/segment/{{name}}.log",
    conda:
        "../../envs/gpu.yaml"
    threads: 4
    resources:
        mem_mb=32000,
        runtime=60,
    params:
        network={
            "base_channels": config["segmentation"]["base_channels"],
            "depth": config["segmentation"]["depth"],
        },
        device=config["training"]["device"],
    script:
        "../scripts/segment.py"


rule evaluate:
    """PSNR/SSIM in the ROI and Dice, NSD, clDice per class, per method and test slice."""
    input:
        stores=slice_stores(),
        split=f"{RESULTS}/data/split.csv",
        images=expand(f"{RESULTS}/test/{{name}}.npz", name=evaluated_methods()),
        labels=expand(f"{RESULTS}/test/{{name}}.labels.npz", name=evaluated_methods()),
        code=library_code(*EVALUATION_CODE),
    output:
        report(
            f"{RESULTS}/metrics/per_slice.csv",
            caption="../report/per_slice.rst",
            category="Metrics",
        ),
    log:
        f"{LOGS}/evaluate.log",
    conda:
        "../../envs/cpu.yaml"
    threads: 1
    resources:
        mem_mb=16000,
        runtime=120,
    params:
        methods=evaluated_methods(),
        tolerance_mm=config["evaluation"]["nsd_tolerance_mm"],
    script:
        "../scripts/evaluate.py"
