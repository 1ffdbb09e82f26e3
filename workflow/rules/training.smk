# Training stage: segmentation pre-training, then the reconstruction trainings.

TRAINING_CODE = [
    "training.py",
    "losses.py",
    "models.py",
    "roi.py",
    "seeding.py",
    "data/slices.py",
    "data/split.py",
    "simulation.py",
]


rule train_segmentation:
    """Pre-train the segmentation U-Net g on full-dose slices (frozen afterwards)."""
    input:
        stores=slice_stores(),
        split=f"{RESULTS}/data/split.csv",
        code=library_code(*TRAINING_CODE),
    output:
        model=f"{RESULTS}/models/segmentation.pt",
        history=f"{RESULTS}/training/segmentation.csv",
    log:
        f"{LOGS}/train/segmentation.log",
    benchmark:
        f"{BENCHMARKS}/train/segmentation.tsv"
    conda:
        "../../envs/gpu.yaml"
    threads: 8
    resources:
        mem_mb=64000,
        runtime=720,
    params:
        network={
            "base_channels": config["segmentation"]["base_channels"],
            "depth": config["segmentation"]["depth"],
        },
        settings=train_settings("segmentation"),
        checkpoint=f"{RESULTS}/checkpoints/segmentation.ckpt",
    script:
        "../scripts/train_segmentation.py"


rule train_reconstruction:
    """Train one reconstruction network: base, task-adaptive (alpha) or joint (C)."""
    input:
        stores=slice_stores(),
        sims=simulations(),
        split=f"{RESULTS}/data/split.csv",
        segmenter=segmenter_for,
        initial_weights=initial_weights_for,
        code=library_code(*TRAINING_CODE),
    output:
        model=f"{RESULTS}/models/{{method}}.pt",
        history=f"{RESULTS}/training/{{method}}.csv",
    log:
        f"{LOGS}/train/{{method}}.log",
    benchmark:
        f"{BENCHMARKS}/train/{{method}}.tsv"
    conda:
        "../../envs/gpu.yaml"
    threads: 8
    resources:
        mem_mb=64000,
        runtime=720,
    params:
        job=method_job,
        network=config["reconstruction"],
        segmenter_network={
            "base_channels": config["segmentation"]["base_channels"],
            "depth": config["segmentation"]["depth"],
        },
        settings=lambda wildcards: train_settings(method_job(wildcards)["kind"]),
        checkpoint=f"{RESULTS}/checkpoints/{{method}}.ckpt",
    script:
        "../scripts/train_reconstruction.py"
