# Simulation stage: LoDoPaB-CT low-dose (or sparse-view) data, Ram-Lak FBP and the FBP baseline.


rule tune_fbp:
    """The FBP baseline's filter and/or frequency scaling with the best mean PSNR on a few
    training slices."""
    input:
        stores=slice_stores(),
        split=f"{RESULTS}/data/split.csv",
        code=script_code("tune_fbp.py"),
    output:
        table=report(
            f"{RESULTS}/physics/fbp_tuning.csv",
            caption="../report/fbp_tuning.rst",
            category="Simulation",
        ),
        choice=f"{RESULTS}/physics/fbp_scaling.json",
    log:
        f"{LOGS}/tune_fbp.log",
    benchmark:
        f"{BENCHMARKS}/tune_fbp.tsv"
    conda:
        "../../envs/cpu.yaml"
    threads: 8
    resources:
        mem_mb=memory("tune_fbp", 8000),
        runtime=minutes("tune_fbp", 120),
    params:
        protocol=simulation_protocol(),
        domain=config["simulation"]["domain"],
        backend=config["simulation"]["backend"],
        n_slices=config["fbp"]["tuning_slices"],
        filter_type=config["fbp"]["filter_type"],
        frequency_scaling=config["fbp"]["frequency_scaling"],
        seed=config["seed"],
    script:
        "../scripts/tune_fbp.py"


rule simulate:
    """Simulate one volume's slices and reconstruct them with Ram-Lak and the tuned FBP; the FBP
    images and the detected counts are kept for its test slices (what reads them)."""
    input:
        store=f"{RESULTS}/data/slices/volume-{{vid}}.h5",
        split=f"{RESULTS}/data/split.csv",  # FBP images and counts are kept for test slices
        tuned=tuned_fbp_reading(),
        code=script_code("simulate.py"),
    output:
        images=f"{RESULTS}/sim/volume-{{vid}}.h5",
        counts=f"{RESULTS}/sim/volume-{{vid}}.counts.npz",
    log:
        f"{LOGS}/simulate/volume-{{vid}}.log",
    benchmark:
        f"{BENCHMARKS}/simulate/volume-{{vid}}.tsv"
    conda:
        "../../envs/gpu.yaml"  # CUDA ASTRA and the torch FBPs on a GPU (CPU otherwise)
    threads: 1
    resources:
        mem_mb=memory("simulate", 8000),
        runtime=minutes("simulate", 360),
    params:
        protocol=simulation_protocol(),
        domain=config["simulation"]["domain"],
        backend=config["simulation"]["backend"],
        outside_roi_value=config["simulation"]["outside_roi_value"],
        keep_sinograms=config["simulation"]["keep_sinograms"],
        filter_type=config["fbp"]["filter_type"],
        frequency_scaling=config["fbp"]["frequency_scaling"],
        seed=config["seed"],
    script:
        "../scripts/simulate.py"


rule simulation_quality:
    """PSNR and SSIM in the ROI of the low-dose and FBP images, and an example figure."""
    input:
        stores=slice_stores(),
        sims=simulations(),
        split=f"{RESULTS}/data/split.csv",
        code=script_code("simulation_quality.py"),
    output:
        table=report(
            f"{RESULTS}/tables/simulation_quality.csv",
            caption="../report/simulation_quality.rst",
            category="Simulation",
        ),
        figure=report(
            f"{RESULTS}/figures/simulation_example.png",
            caption="../report/simulation_example.rst",
            category="Simulation",
        ),
    log:
        f"{LOGS}/simulation_quality.log",
    benchmark:
        f"{BENCHMARKS}/simulation_quality.tsv"
    conda:
        "../../envs/cpu.yaml"
    threads: 1
    resources:
        mem_mb=memory("simulation_quality", 8000),
        runtime=minutes("simulation_quality", 30),
    script:
        "../scripts/simulation_quality.py"
