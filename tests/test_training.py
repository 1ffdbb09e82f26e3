"""Models, objectives and the training loop: frozen g, alpha = 0 = base, joint, resume."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import REPO
from tact.losses import dice_loss, reconstruction_objective, soft_dice
from tact.models import REDCNN, UNet, reconstruction_network, segmentation_network
from tact.training import Job, NetworkSettings, Trainer, load_state_dict, split_validation
from train_worker import SETTINGS, TINY_NET, synthetic_slices


def test_unet_is_the_original_at_full_size():
    net = UNet(1)
    assert sum(p.numel() for p in net.parameters()) == pytest.approx(31.0e6, rel=0.01)
    widths = [m.out_channels for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert max(widths) == 1024


def test_network_outputs():
    x = torch.rand(2, 1, 32, 32)
    recon = reconstruction_network("unet", 4, 2)(x)
    assert recon.shape == x.shape and recon.min() >= 0 and recon.max() <= 1
    assert segmentation_network(4, 2)(x).shape == (2, 3, 32, 32)
    assert REDCNN(channels=8)(x).shape == x.shape
    with pytest.raises(ValueError, match="divisible by 8"):
        UNet(1, 4, depth=3)(torch.rand(1, 1, 20, 20))
    with pytest.raises(ValueError, match="architecture"):
        reconstruction_network("resnet")


def textbook_unet_forward(net: UNet, x: torch.Tensor) -> torch.Tensor:
    """The U-Net as its layers read: concatenation, convolutions and the 1 x 1 head as modules."""
    skips = []
    for level, block in enumerate(net.down):
        x = block(x if level == 0 else net.pool(x))
        skips.append(x)
    x = skips.pop()
    for upsample, block in zip(net.upsample, net.up, strict=True):
        x = block(torch.cat([skips.pop(), upsample(x)], dim=1))
    x = net.head(x)
    return torch.sigmoid(x) if net.sigmoid else x


@pytest.mark.parametrize("out_channels", [1, 3])
def test_unet_forward_computes_its_layers(out_channels):
    """The forward's copy-sparing forms (padded first convolution, split convolution after each
    concatenation, head as a matrix product) give the layers' outputs and gradients."""
    torch.manual_seed(0)
    net = UNet(out_channels, 8, 3, sigmoid=out_channels == 1).double()
    x = torch.rand(2, 1, 32, 32, dtype=torch.double)
    ours, textbook = net(x), textbook_unet_forward(net, x)
    torch.testing.assert_close(ours, textbook, rtol=0, atol=1e-12)
    weights = [torch.rand_like(ours)]
    grads = [torch.autograd.grad(y, list(net.parameters()), weights) for y in (ours, textbook)]
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    channels_last = x.float().contiguous(memory_format=torch.channels_last)
    net.float()
    torch.testing.assert_close(net(channels_last), textbook_unet_forward(net, channels_last))


def test_soft_dice_is_equation_7():
    labels = torch.tensor([[[0, 1], [2, 2]]])
    perfect = torch.nn.functional.one_hot(labels, 3).permute(0, 3, 1, 2).float() * 50
    assert soft_dice(perfect, labels).item() == pytest.approx(1.0, abs=1e-6)
    logits = torch.randn(1, 3, 2, 2)
    p = torch.softmax(logits, 1)[0]
    g = torch.nn.functional.one_hot(labels[0], 3).permute(2, 0, 1).float()
    expected = np.mean(
        [((2 * (p[c] * g[c]).sum() + 1) / (p[c].sum() + g[c].sum() + 1)).item() for c in range(3)]
    )
    assert soft_dice(logits, labels).item() == pytest.approx(expected, rel=1e-6)
    assert dice_loss(logits, labels).item() == pytest.approx(1 - expected, rel=1e-6)


def test_dice_term_reaches_f_through_g_only():
    torch.manual_seed(0)
    f, g = reconstruction_network("unet", 4, 2), segmentation_network(4, 2).eval()
    g.requires_grad_(False)
    data = synthetic_slices(4)
    loss, terms = reconstruction_objective(1.0, f(data.inputs), data.targets, data.labels, g)
    loss.backward()
    assert set(terms) == {"mse", "dice_loss"}
    assert all(p.grad is None for p in g.parameters())
    grads = [p.grad.abs().sum().item() for p in f.parameters() if p.grad is not None]
    assert len(grads) == len(list(f.parameters())) and sum(grads) > 0


def trained(kind, weight=0.0, segmenter=None, initial_weights=None, **settings):
    train, val = split_validation(synthetic_slices(24), 0.2, 0)
    job = Job(kind, weight, network=TINY_NET, segmenter_network=TINY_NET)
    trainer = Trainer(
        job,
        SETTINGS.__class__(**{**SETTINGS.__dict__, "epochs": 2, **settings}),
        train,
        val,
        segmenter,
        initial_weights=initial_weights,
    )
    return trainer


def snapshot(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def assert_same(a, b):
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), "state dicts differ"


@pytest.fixture(scope="module")
def pretrained_segmenter():
    trainer = trained("segmentation")
    trainer.fit()
    return trainer.best_model_state()


def test_frozen_segmenter_stays_bitwise_unchanged(pretrained_segmenter):
    trainer = trained("task_adaptive", 0.5, pretrained_segmenter)
    before_f = snapshot(trainer.model)
    trainer.fit()
    assert_same(snapshot(trainer.segmenter), pretrained_segmenter)  # weights and BN buffers
    after_f = snapshot(trainer.model)
    assert any(not torch.equal(before_f[k], after_f[k]) for k in before_f)
    assert not trainer.segmenter.training


def test_joint_training_changes_both_networks(pretrained_segmenter):
    trainer = trained("joint", 0.5, pretrained_segmenter, joint_segmenter_init="pretrained")
    before_f, before_h = snapshot(trainer.model), snapshot(trainer.segmenter)
    trainer.fit()
    after_h = snapshot(trainer.segmenter)
    assert any(not torch.equal(before_h[k], after_h[k]) for k in before_h)
    assert any(not torch.equal(before_f[k], v) for k, v in snapshot(trainer.model).items())
    assert any(not torch.equal(after_h[k], pretrained_segmenter[k]) for k in after_h)


def test_task_adaptive_with_alpha_zero_equals_base(pretrained_segmenter):
    base = trained("base")
    base.fit()
    task = trained("task_adaptive", 0.0, pretrained_segmenter)
    task.fit()
    assert_same(base.best_model_state(), task.best_model_state())
    pd.testing.assert_series_equal(
        pd.DataFrame(base.history)["train_mse"], pd.DataFrame(task.history)["train_mse"]
    )


def test_task_adaptive_can_start_from_the_base_weights(pretrained_segmenter):
    """task_adaptive.init: base: f starts as the trained base U-Net, not as random weights."""
    base = trained("base")
    base.fit()
    base_state = base.best_model_state()
    task = trained("task_adaptive", 0.5, pretrained_segmenter, initial_weights=base_state)
    assert_same(snapshot(task.model), base_state)
    assert task.validate()["val_mse"] == pytest.approx(base.validate()["val_mse"], rel=1e-6)
    scratch = trained("task_adaptive", 0.5, pretrained_segmenter)
    with pytest.raises(AssertionError):
        assert_same(snapshot(scratch.model), base_state)


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = trained("base"), trained("base"), trained("base", seed=4)
    for t in (a, b, c):
        t.fit()
    assert_same(a.best_model_state(), b.best_model_state())
    with pytest.raises(AssertionError):
        assert_same(a.best_model_state(), c.best_model_state())


def run_worker(out):
    env = {**os.environ, "PYTHONPATH": str(REPO / "tests")}
    return subprocess.Popen(
        [sys.executable, str(REPO / "tests/train_worker.py"), str(out)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def test_sigkill_and_restart_ends_with_the_same_weights(tmp_path):
    reference = tmp_path / "uninterrupted"
    assert run_worker(reference).wait(timeout=300) == 0

    killed = tmp_path / "killed"
    process = run_worker(killed)
    checkpoint = killed / "run.ckpt"
    deadline = time.monotonic() + 300
    step = 0
    while time.monotonic() < deadline and process.poll() is None:
        if checkpoint.exists():
            step = torch.load(checkpoint, weights_only=True)["global_step"]
            if step >= 9:  # mid-training: 6 epochs of 4 batches
                break
        time.sleep(0.02)
    assert process.poll() is None, "the worker finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (killed / "model.pt").exists() and checkpoint.exists()
    assert 9 <= torch.load(checkpoint, weights_only=True)["global_step"] < 24

    assert run_worker(killed).wait(timeout=300) == 0
    assert not checkpoint.exists(), "the checkpoint is removed once the model is written"
    assert_same(load_state_dict(killed / "model.pt"), load_state_dict(reference / "model.pt"))
    history = pd.read_csv(killed / "history.csv").drop(columns=["seconds", "images_per_s"])
    expected = pd.read_csv(reference / "history.csv").drop(columns=["seconds", "images_per_s"])
    pd.testing.assert_frame_equal(history, expected)


def test_checkpoint_of_another_training_is_ignored(tmp_path):
    first = trained("base")
    first.fingerprint_value = "settings A"
    first.fit(tmp_path / "run.ckpt")
    second = trained("base")
    second.fingerprint_value = "settings B"
    assert not second.load_checkpoint(tmp_path / "run.ckpt")
    assert second.epoch == 0
    second.fingerprint_value = "settings A"
    assert second.load_checkpoint(tmp_path / "run.ckpt") and second.epoch == 2


def test_redcnn_trains_with_the_task_adaptive_objective(pretrained_segmenter):
    """The objective plugs into another reconstruction network unchanged."""
    train, val = split_validation(synthetic_slices(24), 0.2, 0)
    job = Job(
        "task_adaptive",
        0.5,
        network=NetworkSettings("redcnn", 8, 0),
        segmenter_network=TINY_NET,
    )
    trainer = Trainer(
        job,
        SETTINGS.__class__(**{**SETTINGS.__dict__, "epochs": 1}),
        train,
        val,
        pretrained_segmenter,
    )
    assert isinstance(trainer.model, REDCNN)
    before = snapshot(trainer.model)
    trainer.fit()
    assert any(not torch.equal(before[k], v) for k, v in snapshot(trainer.model).items())
    assert np.isfinite(trainer.history[0]["val_psnr"]) and "train_dice_loss" in trainer.history[0]
