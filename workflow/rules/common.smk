# Shared helpers: config validation (with defaults), volume discovery, targets.
import sys
from pathlib import Path

# tact is imported from this checkout, whatever environment runs Snakemake. Snakemake hands its
# sys.path on to script jobs, so jobs in the conda envs of envs/ (which do not install tact)
# import it from here too (snakemake --sdm conda).
sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from tact.config import load_schema, validate_config
from tact.data.lits import discover_pairs
from tact.errors import TactError


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

RESULTS = f"results/{config['run']}"
LOGS = f"{RESULTS}/logs"
BENCHMARKS = f"{RESULTS}/benchmarks"
LIBRARY = Path(workflow.basedir) / "src" / "tact"


def library_code(*modules):
    """Library files a step runs, as inputs (editing one reruns exactly its consumers)."""
    return [
        str(LIBRARY / m)
        for m in ("__init__.py", "errors.py", "io.py", "logs.py", *modules)
    ]


def phantom_seed():
    seed = config["phantom"]["seed"]
    return config["seed"] if seed is None else seed


if config["data"]["source"] == "phantom":
    VOLUME_IDS = list(range(config["phantom"]["n_volumes"]))
    LITS_PAIRS = {}
else:
    try:
        LITS_PAIRS = {
            p.volume_id: p for p in discover_pairs(config["data"]["lits_dir"])
        }
    except TactError as exc:
        _fail(exc)
    VOLUME_IDS = sorted(LITS_PAIRS)


def volume_pair(wildcards):
    """The NIfTI pair of one volume: the generated phantom or the user's LiTS files."""
    vid = int(wildcards.vid)
    if config["data"]["source"] == "phantom":
        return {
            "image": f"{RESULTS}/phantom/volume-{vid}.nii",
            "mask": f"{RESULTS}/phantom/segmentation-{vid}.nii",
        }
    if vid not in LITS_PAIRS:
        raise ValueError(f"volume {vid} is not in {config['data']['lits_dir']}")
    return {"image": str(LITS_PAIRS[vid].image), "mask": str(LITS_PAIRS[vid].mask)}


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


def tuned_fbp_scaling():
    """The tuning step's output when the config asks for tuning, else nothing to wait for."""
    if config["fbp"]["frequency_scaling"] == "auto":
        return f"{RESULTS}/physics/fbp_scaling.json"
    return []


def simulations():
    return expand(f"{RESULTS}/sim/volume-{{vid}}.npz", vid=VOLUME_IDS)


def reconstruction_methods():
    """Method ids of the reconstruction trainings: base, joint_c{C}, task_a{alpha}."""
    return [
        "base",
        *(f"joint_c{c}" for c in config["joint"]["cs"]),
        *(f"task_a{a}" for a in config["task_adaptive"]["alphas"]),
    ]


def method_job(wildcards):
    """Objective of a reconstruction method: kind and Dice weight (alpha or C)."""
    method = wildcards.method
    if method == "base":
        return {"kind": "base", "weight": 0.0}
    prefix, kind = (
        ("task_a", "task_adaptive")
        if method.startswith("task_a")
        else ("joint_c", "joint")
    )
    return {"kind": kind, "weight": float(method[len(prefix) :])}


def train_settings(kind):
    """The training settings a kind of training depends on (and only those)."""
    settings = {**config["training"], "seed": config["seed"]}
    if kind == "segmentation":
        settings["cross_entropy"] = config["segmentation"]["cross_entropy"]
    if kind == "joint":
        settings["joint_segmenter_init"] = config["joint"]["segmenter_init"]
    return settings


def segmenter_for(wildcards):
    """Task-adaptive training (and joint with a pre-trained init) needs the frozen segmenter."""
    kind = method_job(wildcards)["kind"]
    if kind == "task_adaptive" or (
        kind == "joint" and config["joint"]["segmenter_init"] == "pretrained"
    ):
        return f"{RESULTS}/models/segmentation.pt"
    return []


def initial_weights_for(wildcards):
    """Task-adaptive training starts from the base U-Net's weights with task_adaptive.init: base."""
    if (
        method_job(wildcards)["kind"] == "task_adaptive"
        and config["task_adaptive"]["init"] == "base"
    ):
        return f"{RESULTS}/models/base.pt"
    return []


def evaluated_methods():
    """Every row of the tables: the paper's order, full dose last."""
    return ["lowdose", "fbp", "bm3d", *reconstruction_methods(), "fulldose"]


def bm3d_sigma_file():
    """The sweep's choice when bm3d.sigma_psd is auto, else nothing to wait for."""
    if config["bm3d"]["sigma_psd"] == "auto":
        return f"{RESULTS}/baselines/bm3d_sigma.json"
    return []


def slice_stores():
    return expand(f"{RESULTS}/data/slices/volume-{{vid}}.npz", vid=VOLUME_IDS)


def all_targets():
    """Everything `rule all` builds; grows as stages land."""
    return [
        f"{RESULTS}/data/split.csv",
        f"{RESULTS}/figures/data_overview.png",
        f"{RESULTS}/tables/data_summary.csv",
        *simulations(),
        f"{RESULTS}/tables/simulation_quality.csv",
        f"{RESULTS}/models/segmentation.pt",
        *expand(f"{RESULTS}/models/{{method}}.pt", method=reconstruction_methods()),
        f"{RESULTS}/metrics/per_slice.csv",
        *report_targets(),
    ]


def report_targets():
    """Tables I-III (csv, md, tex, html), the Spearman table and every figure (png, pdf)."""
    tables = ["table1_pixel", "table2_dice", "table3_anatomy"]
    figures = [
        "fig2_sample",
        "fig3_reconstructions",
        "fig4_segmentations",
        "alpha_tradeoff",
        "metric_correlation",
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
        *expand(f"{RESULTS}/figures/{{f}}.{{ext}}", f=figures, ext=["png", "pdf"]),
    ]


def table_outputs():
    """Each table as CSV, Markdown, LaTeX and HTML (the HTML is what the report shows)."""
    labels = {
        "table1_pixel": "Table I: PSNR, SSIM",
        "table2_dice": "Table II: Dice",
        "table3_anatomy": "Table III: anatomy-aware metrics",
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
