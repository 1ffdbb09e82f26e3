# Training stage: segmentation pre-training, then the reconstruction trainings.


rule train_segmentation:
    """Pre-train a segmenter on full-dose slices: g (frozen afterwards), a held-out one, or one
    of a defence (an ensemble member; the robust one also on low-dose images, with FGSM).
    """
    input:
        stores=slice_stores(),
        split=f"{RESULTS}/data/split.csv",
        sims=degraded_copies_for,
        code=script_code("train_segmentation.py"),
    output:
        model=f"{RESULTS}/models/{{segmenter}}.pt",
        history=f"{RESULTS}/training/{{segmenter}}.csv",
        record=f"{RESULTS}/training/{{segmenter}}.json",
    log:
        f"{LOGS}/train/{{segmenter}}.log",
    benchmark:
        f"{BENCHMARKS}/train/{{segmenter}}.tsv"
    wildcard_constraints:
        segmenter=MODEL_PATTERN,
    conda:
        "../../envs/gpu.yaml"
    threads: 8
    resources:
        mem_mb=memory("train_segmentation", 64000),
        runtime=minutes("train_segmentation", 720),
    params:
        network=lambda wildcards: network_of_segmenter(wildcards.segmenter),
        settings=segmenter_settings,
        placement=placement(),
        checkpoint=f"{RESULTS}/checkpoints/{{segmenter}}.ckpt",
    script:
        "../scripts/train_segmentation.py"


rule train_reconstruction:
    """Train one reconstruction network: base, task-adaptive (alpha) or joint (C)."""
    input:
        stores=slice_stores(),
        sims=simulations(),
        split=f"{RESULTS}/data/split.csv",
        segmenters=segmenters_for,
        initial_weights=initial_weights_for,
        code=script_code("train_reconstruction.py"),
    output:
        model=f"{RESULTS}/models/{{method}}.pt",
        history=f"{RESULTS}/training/{{method}}.csv",
        record=f"{RESULTS}/training/{{method}}.json",
    log:
        f"{LOGS}/train/{{method}}.log",
    benchmark:
        f"{BENCHMARKS}/train/{{method}}.tsv"
    wildcard_constraints:
        method=METHOD_PATTERN,
    conda:
        "../../envs/gpu.yaml"
    threads: 8
    resources:
        mem_mb=memory("train_reconstruction", 64000),
        runtime=minutes("train_reconstruction", 720),
    params:
        job=method_job,
        network=config["reconstruction"],
        segmenter_network=network_of_segmenter(G_MODEL),  # g and every defence segmenter
        settings=reconstruction_settings,
        placement=placement(),
        checkpoint=f"{RESULTS}/checkpoints/{{method}}.ckpt",
    script:
        "../scripts/train_reconstruction.py"
