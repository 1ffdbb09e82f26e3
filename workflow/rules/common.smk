# Shared helpers: config validation (with defaults), volume discovery, targets.
import sys
from pathlib import Path

# tact is imported from this checkout, whatever environment runs Snakemake: here, and in every
# script job (tact.dependencies.jobs_import_from). Jobs in the conda envs of envs/, which do not
# install tact, import it so too.
_SRC = str(Path(workflow.basedir) / "src")
sys.path.insert(0, _SRC)

from functools import cache

from tact.config import load_schema, resolve_data_dir, validate_config
from tact.costs import TRAININGS as COST_TRAININGS
from tact.costs import RunSize, case_slices, cost_lines, job_memory_mb, job_runtime_min
from tact.costs import labelled_share, stored_slices
from tact.costs import measured as measured_costs
from tact.data.labels import LITS_LABELS, LabelMapping
from tact.data.layouts import DicomNames, case_files, open_data_folder
from tact.data.names import dicom_case_name, lits_names
from tact.data.split import check_split_possible
from tact.dependencies import jobs_import_from, library_files
from tact.errors import NO_GPU, TactError
from tact.methods import (
    EVALUATED_PATTERN,
    IN_SIMULATIONS,
    IN_STORES,
    METHOD_PATTERN,
    joint_id,
    parse_method,
    task_adaptive_id,
)
from tact.run_data import claim_run_folder, data_settings, run_folder_conflict
from tact.stopping import stop_promptly_on_signals
from tact.segmenters import (
    G_MODEL,
    MODEL_PATTERN,
    ROBUST,
    evaluating_segmenters,
    segmenter_network,
    segmenter_seed,
    task_segmenters,
    trains_on_degraded,
)

jobs_import_from(_SRC)


def _fail(message):
    """Stop before any job runs, with one clear message and a non-zero exit."""
    print(f"tact: error: {message}", file=sys.stderr)
    sys.exit(1)


try:
    _validated = validate_config(
        config,
        load_schema(Path(workflow.basedir) / "workflow/schemas/config.schema.yaml"),
    )
except TactError as exc:
    _fail(exc)
config.clear()
config.update(_validated)
# data.lits_dir: ~ expanded, a relative path said and made absolute
if config["data"]["source"] == "lits":
    config["data"]["lits_dir"], _said = resolve_data_dir(
        config["data"]["lits_dir"], Path.cwd()
    )
    if _said and workflow.is_main_process:
        print(f"tact: {_said}", file=sys.stderr)

RESULTS = f"results/{config['run']}"
LOGS = f"{RESULTS}/logs"
BENCHMARKS = f"{RESULTS}/benchmarks"


def memory(rule_name, unmeasured_mb):
    """A rule's memory request in MB: from the scale rehearsal's measurement for the volume
    the job holds (tact.costs; ``unmeasured_mb`` for a rule it did not measure), larger on
    each retry: a job killed for running out of memory must not ask for the same again
    (profiles/slurm: retries: 2)."""

    def request(wildcards, attempt):
        if rule_name not in measured_costs()["rules"]:
            return unmeasured_mb * attempt
        return job_memory_mb(rule_name, job_volume_slices(wildcards)) * attempt

    return request


def minutes(rule_name, unmeasured_min):
    """A rule's time limit in minutes: from the scale rehearsal's measurement for this run's
    size and the job's volume (tact.costs; ``unmeasured_min`` for a rule it did not measure).
    """

    def request(wildcards):
        if (
            rule_name not in measured_costs()["rules"]
            and rule_name not in COST_TRAININGS
        ):
            return unmeasured_min
        return job_runtime_min(rule_name, run_size(), job_volume_slices(wildcards))

    return request


def job_volume_slices(wildcards):
    """The slices of the volume a job holds: its own volume's, else the largest readable
    volume's (None where unknown: the request is then the measured peak's)."""
    if "vid" in wildcards.keys():
        return VOLUME_SLICES.get(int(wildcards.vid))
    return max((n for n in VOLUME_SLICES.values() if n), default=None)


def script_code(script):
    """The library files a rule's script runs (the tact modules it imports, transitively), as
    inputs: editing one reruns exactly its consumers, and the list cannot drift from the code.
    """
    root = Path(workflow.basedir)
    return library_files(root / "workflow" / "scripts" / script, root / "src")


def phantom_seed():
    seed = config["phantom"]["seed"]
    return config["seed"] if seed is None else seed


if config["data"]["source"] == "phantom":
    VOLUME_IDS = list(range(config["phantom"]["n_volumes"]))
    CASES = {}
    LAYOUT = "lits"
    LABELS = LITS_LABELS  # the phantom writes LiTS' values, whatever data.labels says
else:
    LABELS = LabelMapping.from_config(config["data"]["labels"])
    try:
        _folder = open_data_folder(
            config["data"]["lits_dir"],
            config["data"]["layout"],
            DicomNames(**config["data"]["dicom"]),
            LABELS,
        )
    except TactError as exc:
        _fail(exc)
    for _line in _folder.said:  # the layout found, the label names read: before any job
        print(f"tact: {_line}", file=sys.stderr)
    LAYOUT, CASES = _folder.layout, _folder.cases
    VOLUME_IDS = sorted(CASES)
TUMOUR_LABELS = LABELS.has_tumour
if config["data"]["source"] == "phantom":
    VOLUME_SLICES = dict.fromkeys(VOLUME_IDS, config["phantom"]["n_slices"])
else:  # from the headers (None where unreadable: the job that reads it says why)
    VOLUME_SLICES = {vid: case_slices(CASES[vid].image) for vid in VOLUME_IDS}
# The paper's numbers stand beside ours where the data are its data: LiTS' scans (as LiTS or as
# the Decathlon's Task03) with their tumour labels.
WITH_PAPER = (
    config["data"]["source"] == "lits"
    and LAYOUT in ("lits", "decathlon")
    and TUMOUR_LABELS
)

try:
    if config["data"]["source"] == "phantom":
        check_split_possible(
            len(VOLUME_IDS),
            config["data"]["split"]["by"],
            "phantom.n_volumes",
            len(VOLUME_IDS) * config["phantom"]["n_slices"],
        )
    else:
        check_split_possible(
            len(VOLUME_IDS), config["data"]["split"]["by"], config["data"]["lits_dir"]
        )
except TactError as exc:
    _fail(exc)

for _network in ("segmentation", "reconstruction"):
    _halvings = 2 ** config[_network]["depth"]
    if config["data"]["image_size"] % _halvings:
        _fail(
            f"data.image_size: {config['data']['image_size']} is not a multiple of"
            f" {_halvings}, which {_network}.depth: {config[_network]['depth']} needs"
            " (the network halves the image that many times)"
        )


onstart:
    stop_promptly_on_signals()  # SIGTERM, SIGINT: end the jobs now, not when they finish
    # The executor is known only now: a local run can check the GPU before any job runs; on a
    # cluster the login node has none, and the training job says so in its first line.
    if workflow.local_exec and config["training"]["device"] == "cuda":
        import torch

        if not torch.cuda.is_available():
            _fail(NO_GPU)
    try:  # results/{run} holds one run's data: another config's stops here (tact.run_data)
        claim_run_folder(Path(RESULTS), data_settings(config), config["overwrite"])
    except TactError as exc:
        _fail(exc)


def phantom_case(vid):
    """Where the phantom writes case ``vid``: a NIfTI pair, or a DICOM case folder."""
    if config["phantom"]["format"] == "dicom":
        folder = f"{RESULTS}/phantom/{dicom_case_name(vid)}"
        return {"image": f"{folder}/image", "mask": f"{folder}/labels"}
    image, mask = lits_names(vid)
    return {"image": f"{RESULTS}/phantom/{image}", "mask": f"{RESULTS}/phantom/{mask}"}


def phantom_outputs():
    """The phantom case's CT and labels: NIfTI files, or DICOM series folders."""
    paths = phantom_case("{vid}")
    if config["phantom"]["format"] == "dicom":
        return {key: directory(path) for key, path in paths.items()}
    return paths


def volume_pair(wildcards):
    """A volume's CT and labels (files or DICOM folders): the phantom's or the user's."""
    vid = int(wildcards.vid)
    if config["data"]["source"] == "phantom":
        return phantom_case(vid)
    if vid not in CASES:
        raise ValueError(f"volume {vid} is not in {config['data']['lits_dir']}")
    case = CASES[vid]
    # and the files themselves: an edit inside a DICOM folder leaves its time (case_files)
    return {
        "image": str(case.image),
        "mask": str(case.labels),
        "files": case_files(case),
    }


def simulation_protocol():
    """The acquisition as tact.physics.ScanProtocol fields; sparse mode swaps the view count."""
    sim = config["simulation"]
    return {
        "n_angles": sim["sparse_views"] if sim["mode"] == "sparse" else sim["n_angles"],
        "photons_per_pixel": sim["photons_per_pixel"],
        "zero_count_photons": sim["zero_count_photons"],
        "noise": sim["noise"],
        "upsample_factor": sim["upsample_factor"],
    }


def tuned_fbp_reading():
    """The tuning step's output when the config asks for tuning (the FBP baseline's filter or
    frequency scaling is auto), else nothing to wait for."""
    if "auto" in (config["fbp"]["filter_type"], config["fbp"]["frequency_scaling"]):
        return f"{RESULTS}/physics/fbp_scaling.json"
    return []


def simulations():
    return expand(f"{RESULTS}/sim/volume-{{vid}}.h5", vid=VOLUME_IDS)


def measured_counts():
    """Every volume's detected photon counts (the data the consistency check reads)."""
    return expand(f"{RESULTS}/sim/volume-{{vid}}.counts.npz", vid=VOLUME_IDS)


def defences():
    """task_adaptive.defences without the paper's plain training ('none' -> None)."""
    return [None if d == "none" else d for d in config["task_adaptive"]["defences"]]


def reconstruction_methods():
    """Method ids of the reconstruction trainings: base, joint_c{C}, task_a{alpha}[_{defence}]."""
    return [
        "base",
        *(joint_id(c) for c in config["joint"]["cs"]),
        *(
            task_adaptive_id(a, d)
            for d in defences()
            for a in config["task_adaptive"]["alphas"]
        ),
    ]


def method_job(wildcards):
    """Objective of a reconstruction method: kind and Dice weight (alpha or C)."""
    trained = parse_method(wildcards.method)
    return {"kind": trained.kind, "weight": trained.weight}


# Settings that say where and how a job runs but cannot change what it makes. As params they
# would rerun finished trainings when a user moves them to a GPU or checkpoints more often.
PLACEMENT = ("device", "checkpoint_every")


def untracked(value):
    """A param that cannot change a job's result: Snakemake leaves params computed from a job's
    input out of its rerun check (it calls them derived), so changing one reruns nothing.
    """
    return lambda wildcards, input: value


def lesion_image_settings():
    """The observers settings the lesion images depend on: changing an observer's own (its
    channels, the NPWE and its display) reruns the observers alone, not the images."""
    keys = ("diameters_mm", "contrasts_hu", "realisations", "sites", "patch")
    return {key: config["observers"][key] for key in keys}


def placement():
    """training.device and training.checkpoint_every, untracked. The device is taken as
    result-neutral: where it is not (a CPU model against a GPU one), the two differ as any
    rerun on other hardware does, and a finished model is kept rather than retrained."""
    return untracked({key: config["training"][key] for key in PLACEMENT})


def train_settings(kind, defence=None):
    """The training settings a kind of training depends on (and only those)."""
    training = {k: v for k, v in config["training"].items() if k not in PLACEMENT}
    settings = {**training, "seed": config["seed"]}
    if kind == "segmentation":
        settings["cross_entropy"] = config["segmentation"]["cross_entropy"]
    if kind == "joint":
        settings["joint_segmenter_init"] = config["joint"]["segmenter_init"]
    if defence == "noise":
        settings["segmenter_noise"] = config["task_adaptive"]["segmenter_noise"]
    return settings


def reconstruction_settings(wildcards):
    trained = parse_method(wildcards.method)
    return train_settings(trained.kind, trained.defence)


def segmenter_models():
    """Every segmenter the run trains: g, the held-out ones, and those of the defences."""
    models = [G_MODEL, *list(evaluating_segmenters(n_held_out()).values())[1:]]
    for defence in defences():
        models += [
            m for m in task_segmenters(defence, ensemble_size()) if m not in models
        ]
    return models


def n_held_out():
    return config["evaluation"]["held_out_segmenters"]


def ensemble_size():
    return config["task_adaptive"]["ensemble_size"]


def g_network():
    return {
        "base_channels": config["segmentation"]["base_channels"],
        "depth": config["segmentation"]["depth"],
    }


def network_of_segmenter(model):
    """The network settings of one segmenter (the held-out ones may differ from g's)."""
    return segmenter_network(
        model, g_network(), config["evaluation"]["held_out_architecture"]
    )


def segmenter_settings(wildcards):
    """g's training settings with the segmenter's own seed (and FGSM for the robust one)."""
    settings = {
        **train_settings("segmentation"),
        "seed": segmenter_seed(config["seed"], wildcards.segmenter),
    }
    if wildcards.segmenter == ROBUST:
        settings["adversarial_epsilon"] = config["task_adaptive"]["robust_epsilon"]
    return settings


def degraded_copies_for(wildcards):
    """The robust segmenter also learns from the low-dose images: it needs the simulations."""
    return simulations() if trains_on_degraded(wildcards.segmenter) else []


def segmenters_for(wildcards):
    """The frozen segmenters of a task-adaptive training (g, or the defence's), or g for a
    joint training that starts from it. Never a held-out segmenter."""
    trained = parse_method(wildcards.method)
    if trained.kind == "task_adaptive":
        models = task_segmenters(trained.defence, ensemble_size())
    elif trained.kind == "joint" and config["joint"]["segmenter_init"] == "pretrained":
        models = [G_MODEL]
    else:
        models = []
    return [f"{RESULTS}/models/{m}.pt" for m in models]


def initial_weights_for(wildcards):
    """Task-adaptive training starts from the base U-Net's weights with task_adaptive.init: base."""
    if (
        method_job(wildcards)["kind"] == "task_adaptive"
        and config["task_adaptive"]["init"] == "base"
    ):
        return f"{RESULTS}/models/base.pt"
    return []


def evaluating_segmenter_models():
    """per_slice name -> model of every segmenter the test images are segmented by."""
    return evaluating_segmenters(n_held_out())


def evaluated_methods():
    """Every row of the tables: the paper's order, full dose last."""
    return ["lowdose", "fbp", "bm3d", *reconstruction_methods(), "fulldose"]


def bm3d_sigma_file():
    """The sweep's choice when bm3d.sigma_psd is auto, else nothing to wait for."""
    if config["bm3d"]["sigma_psd"] == "auto":
        return f"{RESULTS}/baselines/bm3d_sigma.json"
    return []


def slice_stores():
    return expand(f"{RESULTS}/data/slices/volume-{{vid}}.h5", vid=VOLUME_IDS)


def bm3d_volumes():
    return expand(f"{RESULTS}/baselines/bm3d/volume-{{vid}}.h5", vid=VOLUME_IDS)


def test_image_files(name):
    """Where a method's test images lie (each image is stored once, tact.test_sets): the
    slice stores, the simulations, BM3D's per-volume files, or the network's test file.
    """
    if name in IN_STORES:
        return slice_stores()
    if name in IN_SIMULATIONS:
        return simulations()
    if name == "bm3d":
        return bm3d_volumes()
    return [f"{RESULTS}/test/{name}.h5"]


def test_images_of(wildcards):
    return test_image_files(wildcards.name)


def all_test_image_files():
    """Every evaluated method's test image files, each once (for the slice figures)."""
    files = [f for name in evaluated_methods() for f in test_image_files(name)]
    return list(dict.fromkeys(files))


def all_targets():
    """Everything `rule all` builds; grows as stages land."""
    return [
        f"{RESULTS}/data/split.csv",
        f"{RESULTS}/figures/data_overview.png",
        f"{RESULTS}/tables/data_summary.csv",
        *simulations(),
        f"{RESULTS}/tables/simulation_quality.csv",
        *expand(f"{RESULTS}/models/{{model}}.pt", model=segmenter_models()),
        *expand(f"{RESULTS}/models/{{method}}.pt", method=reconstruction_methods()),
        f"{RESULTS}/metrics/per_slice.csv",
        f"{RESULTS}/metrics/per_volume.csv",
        f"{RESULTS}/metrics/per_lesion.csv",
        *report_targets(),
        *intermediate_targets(),
    ]


def intermediate_targets():
    """Every other file the run makes. Snakemake remakes a missing file only when a target
    needs it, and the finished tables need none: an intermediate deleted after a run (the
    measured counts, a method's test images) would come back only when some later change made
    a step read it, as a large rerun nobody expected. As targets, they are made again by the
    next run, as the README says."""
    evaluated = evaluated_methods()
    tuned, swept = bool(tuned_fbp_reading()), bool(bm3d_sigma_file())
    phantom = (
        [p for vid in VOLUME_IDS for p in phantom_case(vid).values()]
        if config["data"]["source"] == "phantom"
        else []
    )
    return [
        *phantom,
        *slice_stores(),
        *measured_counts(),
        *([f"{RESULTS}/physics/fbp_tuning.csv", tuned_fbp_reading()] if tuned else []),
        f"{RESULTS}/figures/simulation_example.png",
        *([f"{RESULTS}/baselines/bm3d_sweep.csv", bm3d_sigma_file()] if swept else []),
        *bm3d_volumes(),
        *expand(f"{RESULTS}/test/{{m}}.h5", m=reconstruction_methods()),
        *expand(f"{RESULTS}/test/{{n}}.labels.h5", n=evaluated),
        *expand(f"{RESULTS}/metrics/consistency/{{n}}.csv", n=evaluated),
        *expand(
            f"{RESULTS}/metrics/per_method/{{n}}{{k}}.csv",
            n=evaluated,
            k=["", ".volumes", ".lesions"],
        ),
        f"{RESULTS}/metrics/truth_skeletons.h5",
        *(
            [
                f"{RESULTS}/observers/lesion_images.h5",
                *expand(f"{RESULTS}/observers/per_method/{{n}}.csv", n=evaluated),
            ]
            if config["observers"]["enabled"]
            else []
        ),
        *expand(
            f"{RESULTS}/training/{{m}}.{{ext}}",
            m=[*segmenter_models(), *reconstruction_methods()],
            ext=["csv", "json"],
        ),
    ]


def report_targets():
    """Tables I-III and V (csv, md, tex, html), the Spearman table, the record of what
    trained the networks (tact.records) and every figure (png, pdf)."""
    observers = config["observers"]["enabled"]
    tables = [
        "table1_pixel",
        "table2_dice",
        "table3_anatomy",
        "table3_anatomy_3d",
        *(["table4_observers"] if observers else []),
        "table5_lesions",
    ]
    figures = [
        "fig2_sample",
        "fig3_reconstructions",
        "fig4_segmentations",
        "alpha_tradeoff",
        "metric_correlation",
        *(["detectability"] if observers else []),
        "lesion_recall_by_size",
        "training_curves",
    ]
    return [
        *expand(
            f"{RESULTS}/tables/{{t}}.{{ext}}",
            t=tables,
            ext=["csv", "md", "tex", "html"],
        ),
        f"{RESULTS}/tables/metric_correlation.csv",
        f"{RESULTS}/tables/metric_correlation.html",
        f"{RESULTS}/tables/environment.json",
        *expand(f"{RESULTS}/figures/{{f}}.{{ext}}", f=figures, ext=["png", "pdf"]),
    ]


def table_outputs():
    """Each table as CSV, Markdown, LaTeX and HTML (the HTML is what the report shows)."""
    labels = {
        "table1_pixel": "Table I: PSNR, SSIM",
        "table2_dice": "Table II: Dice",
        "table3_anatomy": "Table III: anatomy-aware metrics",
        "table3_anatomy_3d": "Table III (3-D): anatomy-aware metrics per volume",
    }
    outputs = {}
    for name, label in labels.items():
        outputs[name] = f"{RESULTS}/tables/{name}.csv"
        outputs[f"{name}_md"] = f"{RESULTS}/tables/{name}.md"
        outputs[f"{name}_tex"] = f"{RESULTS}/tables/{name}.tex"
        outputs[f"{name}_html"] = report(
            f"{RESULTS}/tables/{name}.html",
            caption=f"../report/{name}.rst",
            category="Tables",
            labels={"table": label},
        )
    return outputs


def figure(name, label, category="Figures"):
    """A figure as PNG (shown in the HTML report) and PDF."""
    return {
        f"{name}_png": report(
            f"{RESULTS}/figures/{name}.png",
            caption=f"../report/{name}.rst",
            category=category,
            labels={"figure": label},
        ),
        f"{name}_pdf": f"{RESULTS}/figures/{name}.pdf",
    }


@cache
def run_size():
    """What this run's cost depends on (tact.costs): its volumes and slices, the labelled
    slices counted in the slice stores where extracted, and its trainings."""
    known = [n for n in VOLUME_SLICES.values() if n]
    stores = [Path(p) for p in slice_stores()]
    stored = [stored_slices(p) if p.exists() else None for p in stores]
    labelled_from = None
    if None not in stored:
        labelled = sum(stored)
    else:
        share, labelled_from = labelled_share(
            phantom=config["data"]["source"] == "phantom"
        )
        labelled = round(sum(known) * share)
    return RunSize(
        volumes=len(VOLUME_IDS),
        slices=sum(known),
        largest_volume=max(known, default=0),
        labelled=labelled,
        labelled_from=labelled_from,
        image_size=config["data"]["image_size"],
        phantom=config["data"]["source"] == "phantom",
        trainings=len(reconstruction_methods()) + len(segmenter_models()),
        epochs=config["training"]["epochs"],
        train_fraction=1 - config["data"]["split"]["test_fraction"],
        base_channels=max(
            config[n]["base_channels"] for n in ("segmentation", "reconstruction")
        ),
        observer_images=observer_images(),
        networks=len(reconstruction_methods()),
    )


def observer_images():
    """The observer study's lesion images, both classes of every setting (0 when it is off)."""
    study = config["observers"]
    if not study["enabled"]:
        return 0
    settings = len(study["diameters_mm"]) * len(study["contrasts_hu"])
    return 2 * settings * study["realisations"]
