# Baselines and evaluation: BM3D, inference, segmentation of every method's images by g and the
# held-out segmenters, data consistency, and the metrics (one job per method, then gathered).
# Each image is stored once: a method's test images are read where they lie (test_image_files).


rule bm3d_sweep:
    """BM3D's sigma_psd by PSNR on a few random training slices (when bm3d.sigma_psd is auto)."""
    input:
        stores=slice_stores(),
        sims=simulations(),
        split=f"{RESULTS}/data/split.csv",
        code=script_code("bm3d_sweep.py"),
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
    threads: 8
    resources:
        mem_mb=memory("bm3d_sweep", 8000),
        runtime=minutes("bm3d_sweep", 240),
    params:
        sigmas=config["bm3d"]["sweep_sigmas"],
        n_slices=config["bm3d"]["sweep_slices"],
        seed=config["seed"],
    script:
        "../scripts/bm3d_sweep.py"


rule bm3d:
    """BM3D of one volume's low-dose test slices."""
    input:
        sim=f"{RESULTS}/sim/volume-{{vid}}.h5",
        split=f"{RESULTS}/data/split.csv",
        sigma=bm3d_sigma_file(),
        code=script_code("bm3d.py"),
    output:
        f"{RESULTS}/baselines/bm3d/volume-{{vid}}.h5",
    log:
        f"{LOGS}/bm3d/volume-{{vid}}.log",
    benchmark:
        f"{BENCHMARKS}/bm3d/volume-{{vid}}.tsv"
    conda:
        "../../envs/cpu.yaml"
    threads: 4  # slices in parallel processes; the result does not depend on the count
    resources:
        mem_mb=memory("bm3d", 8000),
        runtime=minutes("bm3d", 360),
    params:
        sigma_psd=config["bm3d"]["sigma_psd"],
    script:
        "../scripts/bm3d.py"


rule infer:
    """A trained reconstruction network applied to the low-dose test images."""
    input:
        model=f"{RESULTS}/models/{{method}}.pt",
        lowdose=simulations(),
        split=f"{RESULTS}/data/split.csv",
        code=script_code("infer.py"),
    output:
        f"{RESULTS}/test/{{method}}.h5",
    log:
        f"{LOGS}/infer/{{method}}.log",
    benchmark:
        f"{BENCHMARKS}/infer/{{method}}.tsv"
    wildcard_constraints:
        method=METHOD_PATTERN,
    conda:
        "../../envs/gpu.yaml"
    threads: 4
    resources:
        mem_mb=memory("infer", 32000),
        runtime=minutes("infer", 60),
    params:
        network=config["reconstruction"],
        device=untracked(config["training"]["device"]),
    script:
        "../scripts/infer.py"


rule segment:
    """One method's test images segmented by g and by every held-out segmenter."""
    input:
        images=test_images_of,
        split=f"{RESULTS}/data/split.csv",
        segmenters=[
            f"{RESULTS}/models/{model}.pt"
            for model in evaluating_segmenter_models().values()
        ],
        code=script_code("segment.py"),
    output:
        f"{RESULTS}/test/{{name}}.labels.h5",
    log:
        f"{LOGS}/segment/{{name}}.log",
    benchmark:
        f"{BENCHMARKS}/segment/{{name}}.tsv"
    conda:
        "../../envs/gpu.yaml"
    threads: 4
    resources:
        mem_mb=memory("segment", 32000),
        runtime=minutes("segment", 60),
    params:
        segmenters=list(evaluating_segmenter_models()),
        networks=[
            network_of_segmenter(model)
            for model in evaluating_segmenter_models().values()
        ],
        device=untracked(config["training"]["device"]),
    script:
        "../scripts/segment.py"


rule consistency:
    """Data consistency of one method's test images with the measured photon counts."""
    input:
        images=test_images_of,
        stores=slice_stores(),
        split=f"{RESULTS}/data/split.csv",
        counts=measured_counts(),
        code=script_code("consistency.py"),
    output:
        f"{RESULTS}/metrics/consistency/{{name}}.csv",
    log:
        f"{LOGS}/consistency/{{name}}.log",
    benchmark:
        f"{BENCHMARKS}/consistency/{{name}}.tsv"
    conda:
        "../../envs/gpu.yaml"
    threads: 1
    resources:
        mem_mb=memory("consistency", 16000),
        runtime=minutes("consistency", 240),
    params:
        protocol=simulation_protocol(),
        backend=config["simulation"]["backend"],
    script:
        "../scripts/consistency.py"


rule truth_skeletons:
    """The skeletons of every test volume's true label maps, per slice and stacked: clDice's
    side of the truth, the same for every method's evaluation (a volume at a time)."""
    input:
        stores=slice_stores(),
        split=f"{RESULTS}/data/split.csv",
        code=script_code("truth_skeletons.py"),
    output:
        f"{RESULTS}/metrics/truth_skeletons.h5",
    log:
        f"{LOGS}/truth_skeletons.log",
    benchmark:
        f"{BENCHMARKS}/truth_skeletons.tsv"
    conda:
        "../../envs/cpu.yaml"
    threads: 1
    resources:
        mem_mb=memory("truth_skeletons", 8000),
        runtime=minutes("truth_skeletons", 120),
    script:
        "../scripts/truth_skeletons.py"


rule evaluate:
    """PSNR/SSIM in the ROI, consistency, and Dice, NSD, clDice per class by every segmenter,
    for one method's test images: per slice, and in 3-D per test volume, with its lesions found
    or missed (a volume per worker process)."""
    input:
        stores=slice_stores(),
        split=f"{RESULTS}/data/split.csv",
        images=test_images_of,
        labels=f"{RESULTS}/test/{{name}}.labels.h5",
        skeletons=f"{RESULTS}/metrics/truth_skeletons.h5",
        consistency=f"{RESULTS}/metrics/consistency/{{name}}.csv",
        code=script_code("evaluate.py"),
    output:
        per_slice=f"{RESULTS}/metrics/per_method/{{name}}.csv",
        per_volume=f"{RESULTS}/metrics/per_method/{{name}}.volumes.csv",
        per_lesion=f"{RESULTS}/metrics/per_method/{{name}}.lesions.csv",
    log:
        f"{LOGS}/evaluate/{{name}}.log",
    benchmark:
        f"{BENCHMARKS}/evaluate/{{name}}.tsv"
    conda:
        "../../envs/cpu.yaml"
    threads: 4  # test volumes in parallel processes; the result does not depend on the count
    resources:
        mem_mb=memory("evaluate", 16000),
        runtime=minutes("evaluate", 240),
    params:
        tolerance_mm=config["evaluation"]["nsd_tolerance_mm"],
        tumour_labels=TUMOUR_LABELS,
        lesion_iou=config["evaluation"]["lesion_iou"],
    script:
        "../scripts/evaluate.py"


rule gather_metrics:
    """Every method's rows in one table per kind (slices, volumes, lesions), in the paper's
    order."""
    input:
        per_slice=expand(
            f"{RESULTS}/metrics/per_method/{{name}}.csv", name=evaluated_methods()
        ),
        per_volume=expand(
            f"{RESULTS}/metrics/per_method/{{name}}.volumes.csv",
            name=evaluated_methods(),
        ),
        per_lesion=expand(
            f"{RESULTS}/metrics/per_method/{{name}}.lesions.csv",
            name=evaluated_methods(),
        ),
        code=script_code("gather_metrics.py"),
    output:
        per_slice=report(
            f"{RESULTS}/metrics/per_slice.csv",
            caption="../report/per_slice.rst",
            category="Metrics",
        ),
        per_volume=report(
            f"{RESULTS}/metrics/per_volume.csv",
            caption="../report/per_volume.rst",
            category="Metrics",
        ),
        per_lesion=report(
            f"{RESULTS}/metrics/per_lesion.csv",
            caption="../report/per_lesion.rst",
            category="Metrics",
        ),
    log:
        f"{LOGS}/gather_metrics.log",
    benchmark:
        f"{BENCHMARKS}/gather_metrics.tsv"
    conda:
        "../../envs/cpu.yaml"
    threads: 1
    resources:
        mem_mb=memory("gather_metrics", 8000),
        runtime=minutes("gather_metrics", 30),
    script:
        "../scripts/gather_metrics.py"
