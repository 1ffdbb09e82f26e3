"""training.deterministic: the settings a training applies; trainings that repeat bit for bit
(run twice; killed after some steps and resumed from the checkpoint) where they draw random
numbers in their steps (the robust segmenter's FGSM, the noise defence); the SegResNet's
upsampling in a form that deterministic mode allows on a GPU."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import replace

import pytest
import torch

from tact.determinism import BilinearDoubling, deterministic_upsampling
from tact.losses import segmentation_objective
from tact.models import segmentation_network
from tact.training import Checkpoint, Job, Trainer
from train_worker import SETTINGS, TINY_NET, synthetic_slices


@pytest.fixture(autouse=True)
def torch_random_state() -> Iterator[None]:
    """These tests reseed torch's generator; tests/conftest.py puts back its algorithm switches."""
    before = torch.get_rng_state()
    yield
    torch.set_rng_state(before)


def trainer(kind: str = "base", weight: float = 0.0, segmenter=None, **changes) -> Trainer:
    settings = replace(SETTINGS, **{"epochs": 2, **changes})
    job = Job(kind, weight, network=TINY_NET, segmenter_network=TINY_NET)
    frozen = [segmenter] if segmenter is not None else []
    return Trainer(
        job, settings, synthetic_slices(16), synthetic_slices(8, seed=1), frozen_segmenters=frozen
    )


def test_a_deterministic_training_runs_with_deterministic_algorithms_only():
    """What a training applies, inspected after one of its epochs: no cuDNN timing, PyTorch's
    and Inductor's deterministic modes, the cuBLAS workspace fixed; and the converse."""
    torch.backends.cudnn.benchmark = True  # as a fast training earlier in the process left it
    torch.use_deterministic_algorithms(False)
    os.environ.pop("CUBLAS_WORKSPACE_CONFIG", None)
    assert SETTINGS.deterministic, "the default is the deterministic path"
    trainer().train_epoch()
    import torch._inductor.config as inductor

    assert torch.are_deterministic_algorithms_enabled()
    assert not torch.is_deterministic_algorithms_warn_only_enabled()
    assert torch.backends.cudnn.benchmark is False
    assert torch.backends.cudnn.deterministic is True
    assert inductor.deterministic is True
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"

    trainer(deterministic=False).train_epoch()
    assert not torch.are_deterministic_algorithms_enabled()
    assert torch.backends.cudnn.benchmark is True
    assert torch.backends.cudnn.deterministic is False
    assert inductor.deterministic is False


@pytest.fixture(scope="module")
def segmenter() -> dict[str, torch.Tensor]:
    trained = trainer("segmentation")
    trained.fit()
    return trained.best_model_state()


RANDOM_STEPS = {  # trainings that draw random numbers in every step
    "fgsm": dict(kind="segmentation", adversarial_epsilon=0.05),
    "noise": dict(kind="task_adaptive", weight=0.5, segmenter_noise=0.05),
}


def random_trainer(case: str, segmenter, **changes) -> Trainer:
    spec = {**RANDOM_STEPS[case], **changes}
    kind, weight = spec.pop("kind"), spec.pop("weight", 0.0)
    return trainer(kind, weight, segmenter if kind == "task_adaptive" else None, **spec)


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    differing = [k for k in a if not torch.equal(a[k], b[k])]
    assert not differing, f"weights differ: {differing[:3]}"


@pytest.mark.parametrize("case", RANDOM_STEPS)
def test_resumed_training_ends_with_the_weights_of_one_run_straight_through(
    case, segmenter, tmp_path
):
    """Killed after step 6 (mid-epoch) and resumed in a fresh trainer, whose random generators
    stand elsewhere: the checkpoint's random states make it draw what the uninterrupted run
    drew, so the weights and histories are bit for bit the same."""
    kept = tmp_path / "at-step-6.ckpt"

    class KeepStep6(Checkpoint):
        def save(self, state: dict) -> None:
            super().save(state)
            if state["global_step"] == 6:
                shutil.copy(self.path, kept)

    straight = random_trainer(case, segmenter)
    straight.fit(KeepStep6(tmp_path / "run.ckpt", case))
    assert kept.exists()

    resumed = random_trainer(case, segmenter)
    torch.manual_seed(12345)  # a new process: its generators are not where the killed one's were
    assert resumed.resume(Checkpoint(kept, case)) and resumed.global_step == 6
    resumed.fit(Checkpoint(tmp_path / "resumed.ckpt", case))
    assert_same(resumed.best_model_state(), straight.best_model_state())
    assert resumed.history == [
        {**row, "seconds": r["seconds"], "images_per_s": r["images_per_s"]}
        for row, r in zip(straight.history, resumed.history, strict=True)
    ]


@pytest.mark.parametrize("case", RANDOM_STEPS)
def test_the_same_training_twice_gives_the_same_weights(case, segmenter):
    """Random draws in the steps come from the training's seed, not from what ran before."""
    first = random_trainer(case, segmenter, epochs=1)
    first.fit()
    torch.manual_seed(999)  # another training ran in between
    second = random_trainer(case, segmenter, epochs=1)
    second.fit()
    assert_same(first.best_model_state(), second.best_model_state())


@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (1, 2, 1, 4), (2, 4, 16, 16)])
def test_bilinear_doubling_is_pytorchs_bilinear_upsampling_and_its_gradient(shape):
    """The SegResNet's upsampling, in a form deterministic on a GPU: the same values and input
    gradient as PyTorch's (float64, to rounding)."""
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    pytorchs = torch.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)(x)
    ours = BilinearDoubling()(x)
    weights = torch.randn_like(pytorchs)
    (expected,) = torch.autograd.grad(pytorchs, x, weights)
    (gradient,) = torch.autograd.grad(ours, x, weights)
    torch.testing.assert_close(ours, pytorchs, rtol=0, atol=1e-14)
    torch.testing.assert_close(gradient, expected, rtol=0, atol=1e-14)


def test_a_segresnet_trained_deterministically_keeps_its_function_and_weights():
    network = segmentation_network(4, 3, "segresnet").eval()
    x = torch.rand(2, 1, 32, 32)
    before, state = network(x), network.state_dict()
    deterministic_upsampling(network)
    swapped = [m for m in network.modules() if isinstance(m, BilinearDoubling)]
    assert len(swapped) == 3 and not any(
        isinstance(m, torch.nn.Upsample) for m in network.modules()
    )
    torch.testing.assert_close(network(x), before, rtol=0, atol=1e-5)
    assert network.state_dict().keys() == state.keys()
    segmentation_network(4, 3, "segresnet").load_state_dict(network.state_dict())


def test_the_cross_entropy_term_is_pytorchs_in_a_form_deterministic_mode_allows():
    """segmentation.cross_entropy: the mean of per-pixel terms (CUDA's fused mean adds with
    atomics and is refused in deterministic mode): PyTorch's value, and the same gradient."""
    logits = torch.randn(4, 3, 16, 16, requires_grad=True)
    labels = torch.randint(0, 3, (4, 16, 16))
    _, terms = segmentation_objective(logits, labels, cross_entropy=True)
    expected = torch.nn.functional.cross_entropy(logits, labels)
    torch.testing.assert_close(terms["cross_entropy"], expected)
    (ours,) = torch.autograd.grad(terms["cross_entropy"], logits)
    (pytorchs,) = torch.autograd.grad(expected, logits)
    assert torch.equal(ours, pytorchs)
