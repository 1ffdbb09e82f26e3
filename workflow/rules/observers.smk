# The model-observer study (issue 35, docs/observers.md): lesions inserted into the test slices'
# livers, each site's slice with and without its lesion through the run's scanner, every
# method's images of them, and a channelized Hotelling observer's AUC and d' per lesion setting.


rule lesion_images:
    """The study's lesion-absent and lesion-present images (tact.observer_study): the low-dose
    images whole (compressed, lossless), as the methods take them, and the patches of full
    dose and FBP. Kept, not temp: made again, it would rerun every method's observer."""
    input:
        stores=slice_stores(),
        split=f"{RESULTS}/data/split.csv",
        tuned=tuned_fbp_reading(),
        code=script_code("lesion_images.py"),
    output:
        f"{RESULTS}/observers/lesion_images.h5",
    log:
        f"{LOGS}/observers/lesion_images.log",
    benchmark:
        f"{BENCHMARKS}/observers/lesion_images.tsv"
    conda:
        "../../envs/gpu.yaml"  # CUDA ASTRA and the torch FBPs on a GPU, as simulate
    threads: 1
    resources:
        mem_mb=memory("lesion_images", 8000),
        runtime=minutes("lesion_images", 240),
    params:
        observers=untracked(config["observers"]),  # the images depend on `images` alone
        images=lesion_image_settings(),
        protocol=simulation_protocol(),
        domain=config["simulation"]["domain"],
        backend=config["simulation"]["backend"],
        outside_roi_value=config["simulation"]["outside_roi_value"],
        filter_type=config["fbp"]["filter_type"],
        frequency_scaling=config["fbp"]["frequency_scaling"],
        seed=config["seed"],
    script:
        "../scripts/lesion_images.py"


rule observe:
    """The observer on a baseline's images of the study: full dose, low dose, FBP, and BM3D of
    the whole low-dose images (one process per core)."""
    input:
        images=f"{RESULTS}/observers/lesion_images.h5",
        sigma=lambda w: bm3d_sigma_file() if w.name == "bm3d" else [],
        code=script_code("observe.py"),
    output:
        f"{RESULTS}/observers/per_method/{{name}}.csv",
    log:
        f"{LOGS}/observers/{{name}}.log",
    benchmark:
        f"{BENCHMARKS}/observers/{{name}}.tsv"
    wildcard_constraints:
        name="lowdose|fbp|bm3d|fulldose",
    # chosen first when its cores are free: in the showcase (H100, 2026-12-07) BM3D's observer
    # waited until 6:12 while one-core jobs took every freed core and ran alone to 9:54; with
    # the priority it ran 2:20-6:13 (docs/showcase/README.md)
    priority: 10
    conda:
        "../../envs/cpu.yaml"
    threads: 4  # BM3D: images in parallel processes; the result does not depend on the count
    resources:
        mem_mb=memory("observe", 8000),
        runtime=minutes("observe", 360),
    params:
        observers=config["observers"],
        sigma_psd=lambda w: config["bm3d"]["sigma_psd"] if w.name == "bm3d" else None,
        seed=config["seed"],
    script:
        "../scripts/observe.py"


rule observe_network:
    """The observer on a trained reconstruction network's images of the study."""
    input:
        images=f"{RESULTS}/observers/lesion_images.h5",
        model=f"{RESULTS}/models/{{name}}.pt",
        code=script_code("observe_network.py"),
    output:
        f"{RESULTS}/observers/per_method/{{name}}.csv",
    log:
        f"{LOGS}/observers/{{name}}.log",
    benchmark:
        f"{BENCHMARKS}/observers/{{name}}.tsv"
    wildcard_constraints:
        name=METHOD_PATTERN,
    conda:
        "../../envs/gpu.yaml"
    threads: 2
    resources:
        mem_mb=memory("observe_network", 8000),
        runtime=minutes("observe_network", 60),
    params:
        observers=config["observers"],
        network=config["reconstruction"],
        seed=config["seed"],
        device=untracked(config["training"]["device"]),
    script:
        "../scripts/observe_network.py"


rule observer_table:
    """Table IV and its figure: the observer's AUC (95 % interval) and d' per method and
    lesion setting."""
    input:
        per_method=expand(
            f"{RESULTS}/observers/per_method/{{name}}.csv", name=evaluated_methods()
        ),
        code=script_code("observer_table.py"),
    output:
        **figure("detectability", "Figure S4: lesion detectability"),
        table=f"{RESULTS}/tables/table4_observers.csv",
        table_md=f"{RESULTS}/tables/table4_observers.md",
        table_tex=f"{RESULTS}/tables/table4_observers.tex",
        table_html=report(
            f"{RESULTS}/tables/table4_observers.html",
            caption="../report/table4_observers.rst",
            category="Tables",
            labels={"table": "Table IV: lesion detectability"},
        ),
    log:
        f"{LOGS}/report/observer_table.log",
    benchmark:
        f"{BENCHMARKS}/report/observer_table.tsv"
    conda:
        "../../envs/cpu.yaml"
    threads: 1
    resources:
        mem_mb=memory("observer_table", 2000),
        runtime=minutes("observer_table", 15),
    params:
        observers=config["observers"],
    script:
        "../scripts/observer_table.py"
