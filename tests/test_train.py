"""Training: one step per loss, resume equality, checkpoints, divergence, config errors."""
import contextlib
import subprocess
import sys

import pytest
import torch

from gancourse import losses as L
from gancourse import models as M
from gancourse.checkpoint import CheckpointMismatchError
from gancourse.data import BatchStream
from gancourse import train
from gancourse.train import (Checkpoint, SampleGrid, TrainConfig, Trainer,
                             TrainingDivergedError, d_step, g_step, resolve_amp)


def small_dcgan():
    return M.DCGANGenerator(z_dim=16, width=8), M.DCGANDiscriminator(width=8)


@pytest.mark.parametrize("loss", list(L.LOSSES))
def test_one_step_each_loss(loss, fake_data):
    G, D = small_dcgan()
    before = [p.clone() for p in G.parameters()]
    t = Trainer(G, D, fake_data, TrainConfig(loss=loss, steps=1, batch_size=16, device="cpu"))
    hist = t.fit()
    assert set(hist) == {"loss_D", "loss_G", "D(x)", "D(G(z))"}
    assert all(len(v) == 1 for v in hist.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, G.parameters()))
    if loss == "wgan":
        assert max(p.abs().max().item() for p in D.parameters()) <= 0.01 + 1e-7


@pytest.mark.parametrize("name", ["cmlp", "cdcgan", "mlp", "keras-mlp"])
def test_one_step_other_models(name, fake_data):
    G, D = M.build(name)
    t = Trainer(G, D, fake_data, steps=2, batch_size=8, device="cpu", loss="hinge", n_critic=2)
    t.fit()
    assert t.step == 2


@pytest.mark.parametrize("opts", [dict(label_smoothing=0.1), dict(label_smoothing=0.1, smoothing_mode="two-sided"),
                                  dict(label_flip_p=0.2), dict(instance_noise=0.1),
                                  dict(feature_matching=True), dict(r1_gamma=1.0),
                                  dict(lr_d=4e-4, lr_g=1e-4)])
def test_stabilisers_run(opts, fake_data):
    G, D = small_dcgan()
    Trainer(G, D, fake_data, steps=2, batch_size=16, device="cpu", **opts).fit()


def _train(data, steps, ckpt=None, resume=None, stop_after=None):
    with torch.random.fork_rng():
        torch.manual_seed(0)  # the same initial weights in every run
        G, D = M.MLPGenerator(z_dim=8, hidden=(16, 16, 16)), M.MLPDiscriminator(hidden=(16, 16, 16))
    cfg = TrainConfig(steps=steps, batch_size=32, seed=3, device="cpu", label_smoothing=0.1,
                      label_flip_p=0.1, instance_noise=0.05)
    t = Trainer(G, D, data, cfg, callbacks=[Checkpoint(ckpt, every=1)] if ckpt else [])
    if resume:
        t.load(resume)
    t.fit(stop_after)
    return t


def test_resume_is_bit_for_bit(fake_data, tmp_path):
    """k steps, save, a fresh trainer resumes, m more == k + m straight (dropout and noise included)."""
    k, m = 5, 7  # 256 images / 32 = 8 batches per epoch: the resume crosses an epoch boundary
    straight = _train(fake_data, k + m)
    ckpt = tmp_path / "run.pt"
    first = _train(fake_data, k + m, ckpt=ckpt, stop_after=k)
    assert first.step == k
    resumed = _train(fake_data, k + m, resume=ckpt)
    assert resumed.step == k + m
    for a, b in zip(straight.G.state_dict().values(), resumed.G.state_dict().values()):
        assert torch.equal(a, b)
    for a, b in zip(straight.D.state_dict().values(), resumed.D.state_dict().values()):
        assert torch.equal(a, b)
    assert straight.history == resumed.history


def test_batch_stream_covers_each_epoch_and_resumes():
    """Each epoch is a permutation (last partial batch dropped); a restored stream continues it."""
    torch.manual_seed(0)
    stream = BatchStream(10, 4)
    epoch = torch.cat([stream.next_index() for _ in range(2)])  # 8 of 10 indices, none twice
    assert len(set(epoch.tolist())) == 8
    state = stream.state_dict()
    rng = torch.get_rng_state()
    ahead = [stream.next_index() for _ in range(3)]  # crosses into a new permutation
    torch.set_rng_state(rng)
    again = BatchStream(10, 4)
    again.load_state_dict(state)
    assert all(torch.equal(a, b) for a, b in zip(ahead, (again.next_index() for _ in range(3))))
    with pytest.raises(ValueError, match="trained on 10 images, this data has 12"):
        BatchStream(12, 4).load_state_dict(state)
    with pytest.raises(ValueError, match="batch_size 11 exceeds the dataset size 10"):
        BatchStream(10, 11)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        BatchStream(10, 0)


def test_trainer_leaves_global_rng_alone(fake_data):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    G, D = small_dcgan()  # init draws from the global RNG, as any nn.Module does
    state = torch.get_rng_state()
    Trainer(G, D, fake_data, steps=2, batch_size=16, device="cpu").fit()
    assert torch.equal(torch.get_rng_state(), state)
    del expected


def test_checkpoint_into_other_architecture_names_mismatch(fake_data, tmp_path):
    G, D = small_dcgan()
    t = Trainer(G, D, fake_data, steps=1, batch_size=16, device="cpu")
    t.fit()
    t.save(tmp_path / "c.pt")
    G2, D2 = M.DCGANGenerator(z_dim=16, width=16), M.DCGANDiscriminator(width=8)
    t2 = Trainer(G2, D2, fake_data, steps=1, batch_size=16, device="cpu")
    with pytest.raises(CheckpointMismatchError, match=r"project.weight: checkpoint shape \(784, 16\)"):
        t2.load(tmp_path / "c.pt")
    G3, D3 = M.MLPGenerator(z_dim=16), M.DCGANDiscriminator(width=8)
    with pytest.raises(CheckpointMismatchError, match="class: checkpoint has DCGANGenerator"):
        Trainer(G3, D3, fake_data, steps=1, batch_size=16, device="cpu").load(tmp_path / "c.pt")


def test_atomic_checkpoint_leaves_no_temp_files(fake_data, tmp_path):
    G, D = small_dcgan()
    Trainer(G, D, fake_data, steps=3, batch_size=16, device="cpu",
            callbacks=[Checkpoint(tmp_path / "c.pt", every=1)]).fit()
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


def test_divergence_stops_with_message_and_keeps_last_good_checkpoint(fake_data, tmp_path):
    G, D = small_dcgan()
    ckpt = tmp_path / "good.pt"
    t = Trainer(G, D, fake_data, steps=10, batch_size=16, device="cpu",
                callbacks=[Checkpoint(ckpt, every=2)])
    t.fit(2)
    good = ckpt.read_bytes()
    with torch.no_grad():
        D.head.weight.fill_(float("nan"))
    with pytest.raises(TrainingDivergedError) as err:
        t.fit()
    msg = str(err.value)
    assert "step 3" in msg and "loss_D = nan" in msg and "learning rate" in msg and str(ckpt) in msg
    assert ckpt.read_bytes() == good


def test_sample_grid_uses_fixed_noise(fake_data, tmp_path):
    G, D = small_dcgan()
    grid = SampleGrid(every=2, n=16, out_dir=tmp_path)
    t = Trainer(G, D, fake_data, steps=4, batch_size=16, device="cpu", callbacks=[grid])
    t.fit()
    assert [s for s, _ in t.samples] == [2, 4]
    assert t.samples[0][1].shape == (16, 1, 28, 28)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step_000002.png", "step_000004.png"]


def test_unknown_loss_lists_valid_ones():
    with pytest.raises(ValueError) as err:
        TrainConfig(loss="wasserstein")
    for name in L.LOSSES:
        assert name in str(err.value)


@pytest.mark.parametrize("bad", [dict(steps=-1), dict(batch_size=0), dict(n_critic=0), dict(lr_g=0),
                                 dict(betas=(0.5, 1.5)), dict(label_flip_p=2.0), dict(smoothing_mode="x"),
                                 dict(loss="hinge", label_smoothing=0.1), dict(device="tpu"),
                                 dict(ema_decay=1.0), dict(ema_decay=0.0), dict(ema_start=-1)])
def test_bad_config_raises(bad):
    with pytest.raises((ValueError, TypeError)):
        TrainConfig(**bad)


def test_unknown_config_key_and_bad_batch(fake_data):
    G, D = small_dcgan()
    with pytest.raises(TypeError, match="unknown config keys"):
        Trainer(G, D, fake_data, step=3)
    with pytest.raises(ValueError, match="exceeds the dataset size"):
        Trainer(G, D, fake_data, batch_size=1000, device="cpu")


def test_import_changes_no_global_state():
    code = (
        "import warnings, torch, random\n"
        "torch.manual_seed(7); random.seed(7)\n"
        "s = torch.get_rng_state(); r = random.getstate(); f = list(warnings.filters)\n"
        "import matplotlib as mpl; rc = dict(mpl.rcParams)\n"
        "import gancourse, gancourse.data, gancourse.models, gancourse.losses, gancourse.train\n"
        "assert torch.equal(s, torch.get_rng_state()), 'torch RNG changed'\n"
        "assert r == random.getstate(), 'random changed'\n"
        "assert f == list(warnings.filters), 'warning filters changed'\n"
        "assert rc == dict(mpl.rcParams), 'rcParams changed'\n"
        "print('clean')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "clean" in out.stdout


# ------------------------------------------------------------------- the GPU-speed options
def _history_of(fake_data, steps=6, **options):
    torch.manual_seed(0)
    G, D = small_dcgan()
    t = Trainer(G, D, fake_data, TrainConfig(steps=steps, batch_size=16, device="cpu", **options))
    return t, t.fit()


def test_steps_return_tensors_and_history_floats(fake_data):
    """d_step/g_step leave the numbers on the device; the trainer reads them into floats."""
    G, D = small_dcgan()
    cfg = TrainConfig(batch_size=16, device="cpu")
    opt_d = torch.optim.Adam(D.parameters())
    opt_g = torch.optim.Adam(G.parameters())
    out = {**d_step(G, D, opt_d, fake_data.images[:16], None, cfg), **g_step(G, D, opt_g, 16, None, cfg)}
    assert set(out) == {"loss_D", "D(x)", "D(G(z))", "loss_G"}
    assert all(isinstance(v, torch.Tensor) and v.dim() == 0 and not v.requires_grad for v in out.values())
    _, hist = _history_of(fake_data, steps=2)
    assert all(type(v) is float for values in hist.values() for v in values)


def test_reading_metrics_in_batches_changes_nothing(fake_data):
    """sync_every only changes when the losses are read, never what training does."""
    every_step, h1 = _history_of(fake_data, steps=7)
    batched, h5 = _history_of(fake_data, steps=7, sync_every=5)
    assert every_step.sync_every == 1 and batched.sync_every == 5
    assert h1 == h5 and all(len(v) == 7 for v in h5.values())
    for a, b in zip(every_step.G.state_dict().values(), batched.G.state_dict().values()):
        assert torch.equal(a, b)


def test_divergence_found_late_names_its_step_and_saves_nothing(fake_data, tmp_path):
    """With sync_every=10 the NaN of step 3 is read at step 4, when the checkpoint is due:
    the error names step 3 and the step-2 checkpoint is kept."""
    G, D = small_dcgan()
    ckpt = tmp_path / "good.pt"
    t = Trainer(G, D, fake_data, steps=10, batch_size=16, device="cpu", sync_every=10,
                callbacks=[Checkpoint(ckpt, every=2)])
    t.fit(2)
    good = ckpt.read_bytes()
    with torch.no_grad():
        D.head.weight.fill_(float("nan"))
    with pytest.raises(TrainingDivergedError, match="at step 3: loss_D = nan"):
        t.fit()
    assert t.step == 4 and ckpt.read_bytes() == good
    assert len(t.history["loss_D"]) == 2  # the diverged steps are not recorded


def test_bf16_autocast_trains_float32_weights(fake_data):
    t, hist = _history_of(fake_data, steps=3, amp="bf16")
    _, plain = _history_of(fake_data, steps=3)
    assert all(p.dtype == torch.float32 for p in [*t.G.parameters(), *t.D.parameters()])
    # bfloat16 keeps about 3 significant digits: close to the float32 run, not equal to it
    assert hist["loss_D"] == pytest.approx(plain["loss_D"], rel=2e-2)
    assert hist["loss_D"] != plain["loss_D"]


def _fp16_trainer(fake_data, **options):
    torch.manual_seed(0)
    G, D = small_dcgan()
    with pytest.warns(UserWarning, match="amp='fp16' on a CPU"):
        return Trainer(G, D, fake_data, TrainConfig(batch_size=16, device="cpu", amp="fp16", **options))


def test_fp16_trains_through_gradient_scalers_on_a_cpu(fake_data):
    """CPU autocast supports float16, so the scaler path runs here as it does on a T4."""
    t = _fp16_trainer(fake_data, steps=4)
    assert t.amp == "fp16" and set(t.scalers) == {"D", "G"}
    hist = t.fit()
    _, plain = _history_of(fake_data, steps=4)
    assert all(p.dtype == torch.float32 for p in [*t.G.parameters(), *t.D.parameters()])
    # The first scale (2**16) overflows float16 gradients: the scaler skips that step and halves the scale.
    assert all(0 < s.get_scale() < 2.0 ** 16 for s in t.scalers.values())
    assert hist["loss_D"][0] == pytest.approx(plain["loss_D"][0], rel=1e-2) and hist != plain


def test_fp16_resumes_with_its_scales(fake_data, tmp_path):
    straight = _fp16_trainer(fake_data, steps=4)
    full = straight.fit()
    first = _fp16_trainer(fake_data, steps=4)
    first.fit(2)
    first.save(tmp_path / "half.pt")
    resumed = _fp16_trainer(fake_data, steps=4).load(tmp_path / "half.pt")
    assert {k: s.get_scale() for k, s in resumed.scalers.items()} == \
        {k: s.get_scale() for k, s in first.scalers.items()}
    assert resumed.fit() == full


def test_the_steps_go_through_a_given_scaler(fake_data):
    """d_step and g_step hand backward and the optimiser step to the scaler, and update it."""
    class Recorder:
        def __init__(self):
            self.calls = []

        def scale(self, loss):
            self.calls.append("scale")
            return loss * 8.0

        def step(self, opt):
            self.calls.append("step")
            for group in opt.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        p.grad /= 8.0
            opt.step()

        def update(self):
            self.calls.append("update")

    G, D = small_dcgan()
    cfg = TrainConfig(batch_size=16, device="cpu")
    opt_d, opt_g = torch.optim.SGD(D.parameters(), lr=0.1), torch.optim.SGD(G.parameters(), lr=0.1)
    sd, sg = Recorder(), Recorder()
    before = [p.clone() for p in D.parameters()]
    d_step(G, D, opt_d, fake_data.images[:16], None, cfg, scaler=sd)
    g_step(G, D, opt_g, 16, None, cfg, scaler=sg)
    assert sd.calls == sg.calls == ["scale", "step", "update"]
    assert any(not torch.equal(a, b) for a, b in zip(before, D.parameters()))


def test_amp_auto_picks_by_device(monkeypatch):
    assert resolve_amp("auto", "cpu") is None and resolve_amp(None, "cpu") is None
    assert resolve_amp("bf16", "cpu") == "bf16"
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))   # a T4
    assert resolve_amp("auto", "cuda") == "fp16"
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 0))   # an A100
    assert resolve_amp("auto", "cuda") == "bf16"
    with pytest.raises(ValueError, match="amp must be one of"):
        resolve_amp("float16", "cpu")


def test_bf16_on_a_gpu_without_it_warns(monkeypatch):
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (7, 5))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "Tesla T4")
    monkeypatch.setattr(torch, "autocast", lambda *a, **k: contextlib.nullcontext())  # no CUDA here
    with pytest.warns(UserWarning, match=r"Tesla T4 has no native bfloat16 \(compute capability 7.5\)"):
        assert resolve_amp("bf16", "cuda") == "bf16"


def test_a_dtype_the_device_cannot_autocast_to_is_a_clear_error(monkeypatch):
    """PyTorch warns and disables autocast for such a dtype; training must not silently run in float32."""
    monkeypatch.setitem(train.AMP_DTYPES, "fp16", torch.float64)   # CPU autocast refuses float64
    with pytest.raises(ValueError, match="cpu autocast does not support torch.float64"):
        resolve_amp("fp16", "cpu")


def test_fp16_without_a_working_scaler_is_a_clear_error(monkeypatch, fake_data):
    class Disabled:
        def __init__(self, *args, **kwargs):
            pass

        def is_enabled(self):
            return False

    monkeypatch.setattr(torch.amp, "GradScaler", Disabled)
    G, D = small_dcgan()
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="needs a gradient scaler"):
        Trainer(G, D, fake_data, TrainConfig(batch_size=16, device="cpu", amp="fp16"))


def test_compiled_training_matches_eager(fake_data, tmp_path):
    """torch.compile (the inductor backend; CUDA graphs with mode='reduce-overhead' on a GPU)
    trains the same networks: same losses to float rounding, checkpoints of the plain modules."""
    t, compiled = _history_of(fake_data, steps=3, compile="default")
    _, eager = _history_of(fake_data, steps=3)
    for name in eager:
        assert compiled[name] == pytest.approx(eager[name], rel=1e-4, abs=1e-5)
    t.save(tmp_path / "c.pt")
    assert not any("_orig_mod" in k for k in torch.load(tmp_path / "c.pt")["G"]["state"])


@pytest.mark.parametrize("bad", [dict(amp="fp8"), dict(compile="fast"), dict(sync_every=0),
                                 dict(sync_every=True), dict(compile="default", loss="wgan-gp"),
                                 dict(compile="default", r1_gamma=1.0)])
def test_bad_speed_options_raise(bad):
    with pytest.raises(ValueError):
        TrainConfig(**bad)


def test_set_cpu_threads_uses_every_usable_core_by_default(monkeypatch):
    from gancourse import utils

    old = torch.get_num_threads()
    try:
        monkeypatch.setattr(utils.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
        assert utils.usable_cores() == 3
        torch.set_num_threads(1)
        assert utils.set_cpu_threads(None) == 3 == torch.get_num_threads()
        assert utils.set_cpu_threads(1) == 1 == torch.get_num_threads()
        for bad in (0, -2, 1.5, True, "2"):
            with pytest.raises(ValueError, match="threads must be None"):
                utils.set_cpu_threads(bad)
    finally:
        torch.set_num_threads(old)


def test_show_source_is_a_highlighted_block_in_notebooks_and_text_elsewhere(capsys):
    """The library's code on a page: a python code block (markdown) for notebooks and the book,
    the plain source printed outside IPython; a source holding backticks gets a longer fence."""
    from gancourse.utils import SourceCode, show_source
    from gancourse.train import d_step

    show_source(d_step)
    printed = capsys.readouterr().out
    assert printed.startswith("def d_step(") and "```" not in printed
    block = SourceCode(printed)._repr_markdown_()
    assert block.startswith("```python\ndef d_step(") and block.endswith("\n```\n")
    tricky = SourceCode('s = """```python"""\n')._repr_markdown_()
    assert tricky.startswith("````python\n") and tricky.endswith("\n````\n")
    assert repr(SourceCode("x = 1\n")) == "x = 1"


# ------------------------------------------------------------ the generator's weight average
class _Snapshots(train.Callback):
    """G's state after every step (the average is updated before callbacks run)."""

    def __init__(self):
        self.states = {}

    def on_step_end(self, trainer, metrics):
        self.states[trainer.step] = {k: v.clone() for k, v in trainer.G.state_dict().items()}


def _averaged_run(data, steps, decay, start, ckpt=None, resume=None, stop_after=None):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        G, D = small_dcgan()
    snaps = _Snapshots()
    t = Trainer(G, D, data, TrainConfig(steps=steps, batch_size=16, device="cpu", ema_decay=decay,
                                        ema_start=start),
                callbacks=[snaps] + ([Checkpoint(ckpt, every=1)] if ckpt else []))
    if resume:
        t.load(resume)
    t.fit(stop_after)
    return t, snaps.states


@pytest.mark.parametrize("start", [0, 2])
def test_weight_average_is_the_exponential_average_of_gs_steps(fake_data, start):
    """By hand: a copy of G at step max(start, 1), then a <- d a + (1 - d) theta_t after each later step;
    batch-norm statistics are averaged the same way."""
    d = 0.75
    t, states = _averaged_run(fake_data, 4, d, start)
    first = max(start, 1)
    expected = {k: v.float() for k, v in states[first].items()}
    for step in range(first + 1, 5):
        expected = {k: d * expected[k] + (1 - d) * states[step][k].float() for k in expected}
    got = t.sampler.state_dict()
    for name in ("project.weight", "net.0.weight", "net.1.running_mean", "net.1.running_var"):
        assert torch.allclose(got[name].float(), expected[name], atol=1e-6), name
    assert not torch.equal(got["net.0.weight"], t.G.state_dict()["net.0.weight"])
    assert t.sampler is t.G_ema.module and t.sampler is not t.G


def test_without_an_average_the_sampler_is_g(fake_data):
    G, D = small_dcgan()
    t = Trainer(G, D, fake_data, steps=1, batch_size=16, device="cpu")
    t.fit()
    assert t.G_ema is None and t.sampler is t.G and "G_ema" in t.state_dict()


def test_generate_draws_from_the_average(fake_data):
    t, _ = _averaged_run(fake_data, 3, 0.5, 0)
    z = torch.randn(4, t.G.z_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = t.G_ema.module.eval()(z)
    assert torch.equal(t.generate(z), expected)
    assert not torch.equal(t.generate(z), t.G.eval()(z).detach())


def test_weight_average_resumes_bit_for_bit(fake_data, tmp_path):
    straight, _ = _averaged_run(fake_data, 5, 0.9, 1)
    ckpt = tmp_path / "run.pt"
    _averaged_run(fake_data, 5, 0.9, 1, ckpt=ckpt, stop_after=3)
    resumed, _ = _averaged_run(fake_data, 5, 0.9, 1, resume=ckpt)
    for a, b in zip(straight.G_ema.state_dict().values(), resumed.G_ema.state_dict().values()):
        assert torch.equal(a, b)


def test_an_average_starts_exactly_from_a_checkpoint_saved_without_one(fake_data, tmp_path):
    """A checkpoint of a run without an average resumes one that starts at or after its step, exactly;
    one past ema_start cannot, and says so."""
    straight, _ = _averaged_run(fake_data, 5, 0.9, 2)
    plain = tmp_path / "plain.pt"
    with torch.random.fork_rng():
        torch.manual_seed(0)
        G, D = small_dcgan()
    Trainer(G, D, fake_data, TrainConfig(steps=5, batch_size=16, device="cpu"),
            callbacks=[Checkpoint(plain, every=1)]).fit(2)
    resumed, _ = _averaged_run(fake_data, 5, 0.9, 2, resume=plain)
    for a, b in zip(straight.G_ema.state_dict().values(), resumed.G_ema.state_dict().values()):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="past ema_start=1"):
        _averaged_run(fake_data, 5, 0.9, 1, resume=plain)


def test_print_wrapped_fits_a_models_printout_to_the_column(capsys):
    from gancourse.utils import print_wrapped

    print_wrapped(M.DCGANGenerator())
    lines = capsys.readouterr().out.splitlines()
    assert max(map(len, lines)) <= 88 < max(map(len, str(M.DCGANGenerator()).splitlines()))
    # broken before a keyword argument, the continuation indented 4 more than its line
    i = next(i for i, line in enumerate(lines) if "ConvTranspose2d(128, 64" in line)
    assert lines[i].endswith(",") and lines[i + 1].startswith(" " * 8 + "output_padding=")
    print_wrapped("word " * 40, width=30)
    assert all(len(line) <= 30 for line in capsys.readouterr().out.splitlines())
