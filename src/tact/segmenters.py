"""The segmentation networks of a run, and which of them each step may see.

- ``segmentation`` (called ``g`` in the tables): the paper's segmenter, pre-trained on full-dose
  slices and frozen; task-adaptive training backpropagates through it and Table II's paper
  column is its Dice.
- ``held_out_{k}``: pre-trained exactly like g (same data, objective and settings) with seeds of
  their own, optionally of another architecture. They exist only to evaluate: no training loss
  ever sees them, so a reconstruction cannot have learnt to please them.
- ``ensemble_{k}``: more segmenters like g with their own seeds (disjoint from the held-out
  ones); the ``ensemble`` defence averages the task loss over g and them.
- ``robust``: a segmenter pre-trained on full-dose slices and their low-dose reconstructions,
  with adversarial (FGSM) training, for the ``robust`` defence.

Each model is one file ``models/{name}.pt``. Seeds derive from the run's seed and the name, so
they never depend on job order.
"""

from __future__ import annotations

from tact.per_slice import HELD_OUT, G, held_out_name
from tact.seeding import Stream, derive_seed

G_MODEL = "segmentation"
ENSEMBLE, ROBUST = "ensemble", "robust"
MODEL_PATTERN = rf"{G_MODEL}|{HELD_OUT}_[0-9]+|{ENSEMBLE}_[0-9]+|{ROBUST}"
HELD_OUT_ARCHITECTURES = ("same", "wide", "segresnet")
_STREAMS = {
    HELD_OUT: Stream.HELD_OUT_SEGMENTER,
    ENSEMBLE: Stream.ENSEMBLE_SEGMENTER,
    ROBUST: Stream.ROBUST_SEGMENTER,
}


def _role(model: str) -> tuple[str, int]:
    """(role, index) of a model name: ('held_out', 2) for held_out_2, ('robust', 0) ..."""
    if model == G_MODEL:
        return G_MODEL, 0
    if model == ROBUST:
        return ROBUST, 0
    role, _, index = model.rpartition("_")
    if role not in (HELD_OUT, ENSEMBLE) or not index.isdigit() or int(index) < 1:
        raise ValueError(f"unknown segmenter model {model!r}")
    return role, int(index)


def segmenter_seed(master: int, model: str) -> int:
    """g trains with the run's seed (as it always has); every other segmenter with its own."""
    role, index = _role(model)
    if role == G_MODEL:
        return master
    return derive_seed(master, _STREAMS[role], index)


def segmenter_network(
    model: str, g_network: dict, held_out_architecture: str | list[str] = "same"
) -> dict:
    """The network settings (``tact.models.NetworkSettings`` fields) of a segmenter: g's for
    every one but the held-out ones, which may differ from it: ``wide`` doubles the channels,
    ``segresnet`` is MONAI's SegResNet of g's width and depth. A list gives the held-out
    segmenters their architectures in turn (held_out_1 the first, and so on, cycling)."""
    g_network = {"architecture": "unet", **g_network}
    role, index = _role(model)
    if isinstance(held_out_architecture, list):
        held_out_architecture = held_out_architecture[(index - 1) % len(held_out_architecture)]
    if role != HELD_OUT or held_out_architecture == "same":
        return g_network
    if held_out_architecture == "wide":
        return {**g_network, "base_channels": 2 * g_network["base_channels"]}
    if held_out_architecture == "segresnet":
        return {**g_network, "architecture": "segresnet"}
    raise ValueError(
        f"evaluation.held_out_architecture must be one of {HELD_OUT_ARCHITECTURES}, "
        f"got {held_out_architecture!r}"
    )


def trains_on_degraded(model: str) -> bool:
    """The robust segmenter also sees the low-dose reconstructions of its training slices."""
    return _role(model)[0] == ROBUST


def evaluating_segmenters(n_held_out: int) -> dict[str, str]:
    """The segmenters every method's test images are segmented by: per_slice name -> model."""
    return {G: G_MODEL, **{held_out_name(k): held_out_name(k) for k in range(1, n_held_out + 1)}}


def task_segmenters(defence: str | None, ensemble_size: int) -> list[str]:
    """The frozen segmenters a task-adaptive training's Dice term goes through (model names)."""
    if defence == "ensemble":
        return [G_MODEL, *(f"{ENSEMBLE}_{k}" for k in range(1, ensemble_size))]
    if defence == ROBUST:
        return [ROBUST]
    return [G_MODEL]


def segmenter_label(model: str) -> str:
    """A display name for a segmenter model (training curves, logs)."""
    role, index = _role(model)
    return {
        G_MODEL: "Segmenter g (pre-trained, frozen)",
        HELD_OUT: f"Held-out segmenter {index}",
        ENSEMBLE: f"Ensemble segmenter {index}",
        ROBUST: "Robust segmenter",
    }[role]


def is_segmenter_model(name: str) -> bool:
    try:
        _role(name)
    except ValueError:
        return False
    return True
