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
from tact.early_stopping import EarlyStopping
from tact.losses import dice_loss, reconstruction_objective, soft_dice
from tact.models import REDCNN, UNet, reconstruction_network, segmentation_network
from tact.training import (
    Checkpoint,
    Job,
    NetworkSettings,
    Trainer,
    load_state_dict,
    split_validation,
)
from train_worker import SETTINGS, TINY_NET, TRAINING_SLICES, synthetic_slices


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
    loss, terms = reconstruction_objective(
        1.0, f(data.inputs), data.targets, labels=data.labels, segmenters=[g]
    )
    loss.backward()
    assert set(terms) == {"mse", "dice_loss"}
    assert all(p.grad is None for p in g.parameters())
    grads = [p.grad.abs().sum().item() for p in f.parameters() if p.grad is not None]
    assert len(grads) == len(list(f.parameters())) and sum(grads) > 0


def trained(kind, weight=0.0, segmenter=None, initial_weights=None, segmenters=(), **settings):
    train, val = split_validation(synthetic_slices(24), 0.2, 0)
    job = Job(kind, weight, network=TINY_NET, segmenter_network=TINY_NET)
    trainer = Trainer(
        job,
        SETTINGS.__class__(**{**SETTINGS.__dict__, "epochs": 2, **settings}),
        train,
        val,
        frozen_segmenters=[segmenter] if segmenter is not None else list(segmenters),
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
            if step >= 9:  # mid-training (the training has 36 steps)
                break
        time.sleep(0.02)
    assert process.poll() is None, "the worker finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (killed / "model.pt").exists() and checkpoint.exists()
    # the steps done when it was killed: past the first checkpoints, short of the last step
    # (a loaded machine may let it run well past step 9 before the kill lands)
    all_steps = SETTINGS.epochs * (TRAINING_SLICES // SETTINGS.batch_size)
    assert 9 <= torch.load(checkpoint, weights_only=True)["global_step"] < all_steps

    assert run_worker(killed).wait(timeout=300) == 0
    assert not checkpoint.exists(), "the checkpoint is removed once the model is written"
    assert_same(load_state_dict(killed / "model.pt"), load_state_dict(reference / "model.pt"))
    history = pd.read_csv(killed / "history.csv").drop(columns=["seconds", "images_per_s"])
    expected = pd.read_csv(reference / "history.csv").drop(columns=["seconds", "images_per_s"])
    pd.testing.assert_frame_equal(history, expected)


def test_checkpoint_of_another_training_is_ignored(tmp_path):
    first = trained("base")
    first.fit(Checkpoint(tmp_path / "run.ckpt", "settings A"))
    second = trained("base")
    assert not second.resume(Checkpoint(tmp_path / "run.ckpt", "settings B"))
    assert second.epoch == 0
    assert second.resume(Checkpoint(tmp_path / "run.ckpt", "settings A")) and second.epoch == 2


def test_early_stopping_records_the_best_epoch():
    stopping = EarlyStopping(patience=2)
    improved = [stopping.update(epoch, loss) for epoch, loss in enumerate([1.0, 0.5, 0.7], 1)]
    assert improved == [True, True, False] and not stopping.should_stop
    assert (stopping.best_epoch, stopping.best_loss, stopping.bad_epochs) == (2, 0.5, 1)
    assert not stopping.update(4, 0.5) and stopping.should_stop  # equal is no improvement
    restored = EarlyStopping(patience=2)
    restored.restore(stopping.best_loss, stopping.bad_epochs, epochs_done=4)
    assert (restored.best_epoch, restored.should_stop) == (2, True)


def test_a_stopped_training_resumes_as_finished(tmp_path):
    """Early stopping ends the training; its last checkpoint trains no further when resumed."""
    checkpoint = Checkpoint(tmp_path / "run.ckpt", "stop")
    stopped = trained("base", learning_rate=0.2, early_stopping_patience=1, epochs=12)
    stopped.fit(checkpoint)
    assert stopped.stopping.should_stop and stopped.epoch == len(stopped.history) < 12
    best = min(range(len(stopped.history)), key=lambda i: stopped.history[i]["val_loss"])
    assert stopped.stopping.best_epoch == stopped.history[best]["epoch"]
    again = trained("base", learning_rate=0.2, early_stopping_patience=1, epochs=12)
    assert again.resume(checkpoint) and again.stopping.should_stop
    again.fit(checkpoint)
    assert again.history == stopped.history and again.epoch == stopped.epoch
    assert_same(again.best_model_state(), stopped.best_model_state())


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
        frozen_segmenters=[pretrained_segmenter],
    )
    assert isinstance(trainer.model, REDCNN)
    before = snapshot(trainer.model)
    trainer.fit()
    assert any(not torch.equal(before[k], v) for k, v in snapshot(trainer.model).items())
    assert np.isfinite(trainer.history[0]["val_psnr"]) and "train_dice_loss" in trainer.history[0]


# ---- defences against steering g, and the robust segmenter --------------------------------


def test_ensemble_dice_term_is_the_mean_over_the_frozen_segmenters():
    torch.manual_seed(0)
    f = reconstruction_network("unet", 4, 2)
    segmenters = [segmentation_network(4, 2).eval().requires_grad_(False) for _ in range(3)]
    data = synthetic_slices(4)
    output = f(data.inputs)
    _, terms = reconstruction_objective(
        0.5, output, data.targets, labels=data.labels, segmenters=segmenters
    )
    each = [dice_loss(g(output), data.labels).detach() for g in segmenters]
    assert len({round(float(v), 6) for v in each}) == 3, "the segmenters should disagree"
    expected = float(torch.stack(each).mean())
    assert float(terms["dice_loss"].detach()) == pytest.approx(expected, rel=1e-6)


def test_ensemble_training_keeps_every_segmenter_frozen(pretrained_segmenter):
    other = trained("segmentation", seed=11)
    other.fit()
    members = [pretrained_segmenter, other.best_model_state()]
    trainer = trained("task_adaptive", 0.5, segmenters=members)
    assert len(trainer.segmenters) == 2
    trainer.fit()
    for network, state in zip(trainer.segmenters, members, strict=True):
        assert_same(snapshot(network), state)


def test_noise_before_the_segmenters_only_in_training_steps(pretrained_segmenter):
    quiet = trained("task_adaptive", 0.5, pretrained_segmenter)
    noisy = trained("task_adaptive", 0.5, pretrained_segmenter, segmenter_noise=0.2)
    batch = noisy.val_data.batch(torch.arange(4))
    # validation (eval mode) sees no noise: both objectives agree exactly
    quiet.model.eval(), noisy.model.eval()
    with torch.no_grad():
        assert float(noisy.objective.loss(*batch)[0]) == float(quiet.objective.loss(*batch)[0])
    noisy.model.train(), quiet.model.train()
    torch.manual_seed(1)
    with torch.no_grad():
        first = float(noisy.objective.loss(*batch)[1]["dice_loss"])
        second = float(noisy.objective.loss(*batch)[1]["dice_loss"])
        assert first != second, "each training step draws new noise"
        noisy_mse = noisy.objective.loss(*batch)[1]["mse"]
        assert float(noisy_mse) == float(quiet.objective.loss(*batch)[1]["mse"])


def test_fgsm_inputs_stay_within_epsilon_and_raise_the_loss(pretrained_segmenter):
    trainer = trained("segmentation", adversarial_epsilon=0.05, initial_weights=None)
    trainer.model.load_state_dict(pretrained_segmenter)
    trainer.model.eval()  # fixed batch-norm statistics: the comparison is of inputs only
    x, target, labels = trainer.train_data.batch(torch.arange(8))
    perturbed = trainer.objective.adversarial_inputs(x, labels)
    assert (perturbed - x).abs().max() <= 0.05 + 1e-6
    assert (perturbed - x).abs().max() > 0.04
    with torch.no_grad():
        loss = trainer.objective.loss
        clean_loss = float(loss(x, target, labels)[0])
        attacked = float(loss(perturbed, target, labels)[0])
        random = float(loss(x + 0.05 * torch.randn_like(x).sign(), target, labels)[0])
    assert attacked > clean_loss and attacked > random


def test_segmenter_on_lowdose_copies_sees_both_inputs(monkeypatch):
    import tact.training_data as training

    data = synthetic_slices(6)

    def fake_loader(stores, split, sims=None):
        inputs = data.inputs + (0.5 if sims else 0.0)  # "low-dose" copies are shifted
        return training.Slices(inputs, data.targets, data.labels, data.volumes)

    monkeypatch.setattr(training, "load_training_slices", fake_loader)
    plain = training.training_data(Job("segmentation"), ["s"], "split", None)
    job = Job("segmentation", lowdose_copies=True)
    both = training.training_data(job, ["s"], "split", ["sim"])
    assert len(plain) == 6 and len(both) == 12
    torch.testing.assert_close(both.inputs[:6], data.inputs)
    torch.testing.assert_close(both.inputs[6:], data.inputs + 0.5)
    torch.testing.assert_close(both.targets[6:], data.targets)  # labels and targets: the truth
    assert torch.equal(both.labels[6:], data.labels)
    assert both.volumes.tolist() == [*data.volumes, *data.volumes]  # same validation volumes
    with pytest.raises(ValueError, match="needs the simulations"):
        training.training_data(job, ["s"], "split", None)


def test_benchmarks_use_only_the_public_trainer():
    """bench/ times ``Trainer.train_step`` and ``train_epoch``: no private member is patched or
    called there, so the Trainer's insides can change without breaking the benchmarks."""
    import re

    for path in sorted((REPO / "bench").glob("*.py")):
        private = re.findall(r"\b(?:trainer|Trainer|objective)\._\w+", path.read_text())
        assert not private, f"{path.name}: {private}"
