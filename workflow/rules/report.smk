# Report: the paper's Tables I-III and Figures 2-4, the alpha sweep, metric correlations,
# lesion-wise detection and training curves, all made from the run's own per_slice.csv,
# per_volume.csv, per_lesion.csv, test images and histories.


rule tables:
    """Tables I-III from per_slice.csv (with the paper's numbers beside ours on LiTS), and
    the 3-D Table III from per_volume.csv."""
    input:
        per_slice=f"{RESULTS}/metrics/per_slice.csv",
        per_volume=f"{RESULTS}/metrics/per_volume.csv",
        fbp_reading=tuned_fbp_reading(),
        sigma=bm3d_sigma_file(),
        code=script_code("tables.py"),
    output:
        **table_outputs(),
    log:
        f"{LOGS}/report/tables.log",
    benchmark:
        f"{BENCHMARKS}/report/tables.tsv"
    conda:
        "../../envs/cpu.yaml"
    threads: 1
    resources:
        mem_mb=memory("tables", 4000),
        runtime=minutes("tables", 15),
    params:
        with_paper=WITH_PAPER,
        fbp_filter=config["fbp"]["filter_type"],
        fbp_scaling=config["fbp"]["frequency_scaling"],
        sigma_psd=config["bm3d"]["sigma_psd"],
        tumour_labels=TUMOUR_LABELS,
    script:
        "../scripts/tables.py"


rule lesion_detection:
    """Table V and Figure S3: lesion-wise recall, precision and F1 per method and segmenter,
    and recall by lesion diameter, from per_lesion.csv."""
    input:
        per_lesion=f"{RESULTS}/metrics/per_lesion.csv",
        per_volume=f"{RESULTS}/metrics/per_volume.csv",
        code=script_code("lesion_detection.py"),
    output:
        **figure("lesion_recall_by_size", "Figure S3: lesion recall by size"),
        table=f"{RESULTS}/tables/table5_lesions.csv",
        table_md=f"{RESULTS}/tables/table5_lesions.md",
        table_tex=f"{RESULTS}/tables/table5_lesions.tex",
        table_html=report(
            f"{RESULTS}/tables/table5_lesions.html",
            caption="../report/table5_lesions.rst",
            category="Tables",
            labels={"table": "Table V: lesion-wise detection"},
        ),
    log:
        f"{LOGS}/report/lesion_detection.log",
    benchmark:
        f"{BENCHMARKS}/report/lesion_detection.tsv"
    conda:
        "../../envs/cpu.yaml"
    threads: 1
    resources:
        mem_mb=memory("lesion_detection", 4000),
        runtime=minutes("lesion_detection", 15),
    params:
        lesion_iou=config["evaluation"]["lesion_iou"],
        tumour_labels=TUMOUR_LABELS,
    script:
        "../scripts/lesion_detection.py"


rule slice_figures:
    """Figures 2-4: a sample, every method's reconstruction and segmentation of one slice."""
    input:
        images=all_test_image_files(),
        labels=expand(f"{RESULTS}/test/{{name}}.labels.h5", name=evaluated_methods()),
        stores=slice_stores(),
        split=f"{RESULTS}/data/split.csv",
        per_slice=f"{RESULTS}/metrics/per_slice.csv",
        code=script_code("slice_figures.py"),
    output:
        **figure("fig2_sample", "Figure 2: a sample"),
        **figure("fig3_reconstructions", "Figure 3: reconstructions"),
        **figure("fig4_segmentations", "Figure 4: segmentations"),
    log:
        f"{LOGS}/report/slice_figures.log",
    benchmark:
        f"{BENCHMARKS}/report/slice_figures.tsv"
    conda:
        "../../envs/cpu.yaml"
    threads: 1
    resources:
        mem_mb=memory("slice_figures", 8000),
        runtime=minutes("slice_figures", 15),
    params:
        methods=evaluated_methods(),
        image_files={name: test_image_files(name) for name in evaluated_methods()},
        example=[config["report"]["example_volume"], config["report"]["example_slice"]],
    script:
        "../scripts/slice_figures.py"


rule alpha_tradeoff:
    """PSNR and Dice over the task weight: the sweep the paper could not afford."""
    input:
        per_slice=f"{RESULTS}/metrics/per_slice.csv",
        code=script_code("alpha_tradeoff.py"),
    output:
        **figure("alpha_tradeoff", "Figure S1: task weight sweep"),
    log:
        f"{LOGS}/report/alpha_tradeoff.log",
    benchmark:
        f"{BENCHMARKS}/report/alpha_tradeoff.tsv"
    conda:
        "../../envs/cpu.yaml"
    threads: 1
    resources:
        mem_mb=memory("alpha_tradeoff", 4000),
        runtime=minutes("alpha_tradeoff", 15),
    params:
        tumour_labels=TUMOUR_LABELS,
    script:
        "../scripts/alpha_tradeoff.py"


rule metric_correlation:
    """Per-slice PSNR/SSIM against Dice/NSD, with Spearman rho per method and overall."""
    input:
        per_slice=f"{RESULTS}/metrics/per_slice.csv",
        code=script_code("metric_correlation.py"),
    output:
        **figure("metric_correlation", "Figure S2: pixel metrics vs anatomy"),
        table=f"{RESULTS}/tables/metric_correlation.csv",
        table_html=report(
            f"{RESULTS}/tables/metric_correlation.html",
            caption="../report/metric_correlation_table.rst",
            category="Tables",
            labels={"table": "Table S1: Spearman correlations"},
        ),
    log:
        f"{LOGS}/report/metric_correlation.log",
    benchmark:
        f"{BENCHMARKS}/report/metric_correlation.tsv"
    conda:
        "../../envs/cpu.yaml"
    threads: 1
    resources:
        mem_mb=memory("metric_correlation", 4000),
        runtime=minutes("metric_correlation", 15),
    params:
        tumour_labels=TUMOUR_LABELS,
    script:
        "../scripts/metric_correlation.py"


rule training_curves:
    """Loss and validation PSNR per epoch of every model."""
    input:
        histories=expand(
            f"{RESULTS}/training/{{model}}.csv",
            model=[*segmenter_models(), *reconstruction_methods()],
        ),
        code=script_code("training_curves.py"),
    output:
        **figure("training_curves", "Training curves", category="Training"),
    log:
        f"{LOGS}/report/training_curves.log",
    benchmark:
        f"{BENCHMARKS}/report/training_curves.tsv"
    conda:
        "../../envs/cpu.yaml"
    threads: 1
    resources:
        mem_mb=memory("training_curves", 4000),
        runtime=minutes("training_curves", 15),
    script:
        "../scripts/training_curves.py"


rule run_record:
    """What every network was trained on (GPU or CPU, driver, torch, CUDA, cuDNN, Python) and
    the SHA-256 of its weights, beside the tables: docs/scripts/check_record.py compares a
    rerun with it."""
    input:
        records=expand(
            f"{RESULTS}/training/{{model}}.json",
            model=[*segmenter_models(), *reconstruction_methods()],
        ),
        code=script_code("run_record.py"),
    output:
        f"{RESULTS}/tables/environment.json",
    log:
        f"{LOGS}/report/run_record.log",
    benchmark:
        f"{BENCHMARKS}/report/run_record.tsv"
    conda:
        "../../envs/cpu.yaml"
    threads: 1
    resources:
        mem_mb=memory("run_record", 1000),
        runtime=minutes("run_record", 5),
    script:
        "../scripts/run_record.py"
