"""Progressive growing: shapes at every stage, exact fade-in at alpha 0 and 1 for G and D,
the real images at each resolution, and short progressive and direct training runs."""
import pytest
import torch
import torch.nn.functional as F

from gancourse import models as M
from gancourse.progressive import (RESOLUTIONS, GrowthRun, ProgressiveDiscriminator, ProgressiveGenerator,
                                   downsample, real_at, schedule, train_direct, train_progressive)

torch.set_num_threads(1)


def small_pair(seed=0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return ProgressiveGenerator(z_dim=8, channels=(16, 8, 8)), ProgressiveDiscriminator(channels=(16, 8, 8))


@pytest.mark.parametrize("batch", [1, 7])
@pytest.mark.parametrize("stage,alpha", [(0, 1.0), (1, 0.0), (1, 0.5), (1, 1.0), (2, 0.3), (2, 1.0)])
def test_shapes_at_every_stage(batch, stage, alpha):
    G, D = small_pair()
    G.set_stage(stage, alpha), D.set_stage(stage, alpha)
    r = RESOLUTIONS[stage]
    img = G(torch.randn(batch, 8))
    assert img.shape == (batch, 1, r, r) and img.abs().max() <= 1
    assert D(img).shape == (batch, 1)
    assert G.resolution == D.resolution == r


def test_built_at_the_final_stage_and_registered():
    G, D = M.build("progressive")
    assert (G.stage, G.alpha, D.stage, D.alpha) == (2, 1.0, 2, 1.0)
    assert G(torch.randn(2, G.z_dim)).shape == (2, 1, 28, 28)
    assert "stage" not in G.state_dict() and "alpha" not in G.state_dict()


def test_generator_fade_in_is_exact_at_both_ends():
    G, _ = small_pair()
    z = torch.randn(5, 8)
    with torch.no_grad():
        for stage in (1, 2):
            old = G.set_stage(stage - 1)(z)
            assert torch.equal(G.set_stage(stage, 0.0)(z), F.interpolate(old, scale_factor=2, mode="nearest"))
            h = G.base(z)
            for block in G.blocks[:stage]:
                h = block(h)
            new = torch.tanh(G.to_gray[stage](h))            # the new block's output, by hand
            assert torch.equal(G.set_stage(stage, 1.0)(z), new)
            mid = G.set_stage(stage, 0.25)(z)
            assert torch.allclose(mid, 0.75 * F.interpolate(old, scale_factor=2) + 0.25 * new, atol=1e-6)


def test_discriminator_fade_in_mirrors_it():
    _, D = small_pair()
    x28 = torch.rand(6, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        for stage in (1, 2):
            x = downsample(x28, RESOLUTIONS[stage])
            old = D.set_stage(stage - 1)(F.avg_pool2d(x, 2))
            assert torch.equal(D.set_stage(stage, 0.0)(x), old)
            full = D.set_stage(stage, 1.0)(x)
            assert not torch.allclose(full, old)
            h = D.blocks[stage - 1](D.from_gray[stage](x))   # the new path, by hand
            for block in reversed(D.blocks[:stage - 1]):
                h = block(h)
            assert torch.equal(full, D.head(h))


def test_stage_validation():
    G, D = small_pair()
    with pytest.raises(ValueError, match="stage must be an int in 0..2"):
        G.set_stage(3)
    with pytest.raises(ValueError, match="alpha must lie in"):
        D.set_stage(1, 1.5)
    with pytest.raises(ValueError, match="nothing to fade from"):
        G.set_stage(0, 0.5)
    with pytest.raises(ValueError, match="reads 7x7 images"):
        D.set_stage(0)(torch.zeros(2, 1, 28, 28))


def test_real_images_at_each_resolution():
    x = torch.rand(3, 1, 28, 28)
    assert torch.equal(real_at(x, 2), x)
    assert torch.allclose(real_at(x, 1), F.avg_pool2d(x, 2))
    assert torch.allclose(real_at(x, 0), F.avg_pool2d(x, 4), atol=1e-6)
    x14 = F.avg_pool2d(x, 2)
    assert torch.allclose(real_at(x, 1, 0.0), F.interpolate(F.avg_pool2d(x14, 2), scale_factor=2), atol=1e-6)
    assert real_at(x, 1, 0.4).shape == (3, 1, 14, 14)
    with pytest.raises(ValueError, match="cannot downsample 28 pixels to 10"):
        downsample(x, 10)


def test_schedule():
    phases = schedule(5)
    assert [(p.resolution, p.fade) for p in phases] == [(7, False), (14, True), (14, False), (28, True), (28, False)]
    assert [p.name for p in phases][:2] == ["7x7 stable", "14x14 fade-in"]


def test_train_progressive_and_direct(fake_data):
    G, D = small_pair()
    torch.manual_seed(3)
    state = torch.get_rng_state()
    seen = []
    run = train_progressive(G, D, fake_data, steps_per_phase=2, batch_size=8, device="cpu", n_samples=4,
                            callback=lambda phase, run: seen.append(phase.name))
    assert torch.equal(torch.get_rng_state(), state)
    assert isinstance(run, GrowthRun) and run.total_steps == 10 and len(seen) == 5
    h = run.history
    assert h["resolution"] == [7, 7, 14, 14, 14, 14, 28, 28, 28, 28]
    assert h["alpha"] == [1.0, 1.0, 0.0, 0.5, 1.0, 1.0, 0.0, 0.5, 1.0, 1.0]
    assert all(len(h[k]) == 10 for k in ("loss_D", "loss_G", "D(x)", "D(G(z))"))
    assert [p.samples.shape[-1] for p in run.phases] == [7, 14, 14, 28, 28]
    assert all(p.seconds > 0 and p.seconds_per_step > 0 for p in run.phases)
    assert "28x28 stable" in run.table() and (G.stage, D.stage, G.alpha) == (2, 2, 1.0)

    G2, D2 = small_pair()
    direct = train_direct(G2, D2, fake_data.images, steps=run.total_steps, batch_size=8, device="cpu",
                          loss="non-saturating", n_samples=4)
    assert direct.total_steps == 10 and [p.name for p in direct.phases] == ["28x28 stable"]
    assert set(direct.history["resolution"]) == {28}


def test_train_progressive_is_reproducible(fake_data):
    runs = [train_progressive(*small_pair(), fake_data, steps_per_phase=1, batch_size=8, device="cpu", seed=5)
            for _ in range(2)]
    assert runs[0].history == runs[1].history
    with pytest.raises(ValueError, match="batch_size 512 exceeds"):
        train_direct(*small_pair(), fake_data, steps=1, batch_size=512, device="cpu")


def test_train_direct_in_several_phases_is_one_run(fake_data):
    whole = train_direct(*small_pair(), fake_data, steps=4, batch_size=8, device="cpu", seed=2)
    seen = []
    G, D = small_pair()
    split = train_direct(G, D, fake_data, steps=[1, 3], batch_size=8, device="cpu", seed=2,
                         callback=lambda phase, run: seen.append((phase.steps, G(torch.zeros(1, 8)).shape)))
    assert split.history == whole.history                      # same optimiser and batches across the cut
    assert [p.name for p in split.phases] == ["28x28 stable"] * 2 and split.total_steps == 4
    assert seen == [(1, (1, 1, 28, 28)), (3, (1, 1, 28, 28))]
    assert torch.equal(split.phases[-1].samples, whole.phases[-1].samples)
    for bad in (0, [], [2, 0], [1.5], True):
        with pytest.raises(ValueError, match="steps must be an int >= 1"):
            train_direct(*small_pair(), fake_data, steps=bad, batch_size=8, device="cpu")


class _Crash(Exception):
    pass


def test_resumed_run_ends_exactly_as_an_uninterrupted_one(fake_data, tmp_path):
    # 40 images in batches of 8 with two critic steps per step: every phase crosses an epoch of
    # shuffled batches, so the resumed run must restore the permutation and its position too.
    images = fake_data.images[:40]
    kw = dict(steps_per_phase=3, batch_size=8, n_critic=2, device="cpu", seed=4, n_samples=4)
    G1, D1 = small_pair()
    straight = train_progressive(G1, D1, images, **kw)

    ckpt = tmp_path / "prog.pt"

    def crash_after_two(phase, run):
        if len(run.phases) == 2:
            raise _Crash

    with pytest.raises(_Crash):
        train_progressive(*small_pair(), images, checkpoint=ckpt, callback=crash_after_two, **kw)
    assert ckpt.is_file()
    G2, D2 = small_pair(seed=9)                                  # other initial weights: the file must win
    seen = []
    resumed = train_progressive(G2, D2, images, checkpoint=ckpt, callback=lambda p, r: seen.append(p.name), **kw)
    assert seen == ["14x14 stable", "28x28 fade-in", "28x28 stable"]   # only the phases left were trained
    assert resumed.history == straight.history and resumed.total_steps == 15
    for a, b in zip(straight.phases, resumed.phases):
        assert torch.equal(a.samples, b.samples)
    for a, b in zip([*G1.state_dict().values(), *D1.state_dict().values()],
                    [*G2.state_dict().values(), *D2.state_dict().values()]):
        assert torch.equal(a, b)

    # a finished run's checkpoint is complete: starting again trains nothing and returns the same result
    again = train_progressive(*small_pair(), images, checkpoint=ckpt, **kw)
    assert again.history == straight.history and len(again.phases) == 5

    with pytest.raises(ValueError, match="belongs to another run"):
        train_progressive(*small_pair(), images, checkpoint=ckpt, **{**kw, "steps_per_phase": 2})
    with pytest.raises(ValueError, match="belongs to another run"):
        train_progressive(*small_pair(), images, checkpoint=ckpt, **{**kw, "lr_g": 1e-3})


def test_pretrain_recipe_grows_logs_resumes_and_exports(monkeypatch, tmp_path):
    import json

    from gancourse import pretrain, pretrained
    from gancourse.data import ImageData

    r = pretrain.RECIPES["progressive-mnist"]
    assert r["model"] == "progressive" and r["config"]["loss"] == "wgan-gp"
    images = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    monkeypatch.setattr(pretrain, "load_mnist", lambda train=True, **kw: ImageData(images, torch.zeros(64).long()))
    monkeypatch.setitem(pretrain.RECIPES, "progressive-mnist",
                        {**r, "g_kwargs": {"z_dim": 8, "channels": (16, 8, 8)}, "d_kwargs": {"channels": (16, 8, 8)},
                         "config": {**r["config"], "batch_size": 8}})
    monkeypatch.setattr(pretrain, "WEIGHTS_DIR", tmp_path / "weights")
    args = ["progressive-mnist", "--steps", "1", "--run-dir", str(tmp_path), "--device", "cpu"]
    assert pretrain.main(args + ["--no-export"]) == 0
    run = tmp_path / "progressive-mnist"
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [row["phase"] for row in rows] == [p.name for p in schedule(1)] and rows[-1]["step"] == 5
    assert (run / "checkpoint.pt").is_file() and not (tmp_path / "weights").exists()

    assert pretrain.main(args) == 0              # the finished checkpoint: nothing left to train, only the export
    assert len((run / "log.jsonl").read_text().splitlines()) == 5
    card = pretrained.card("progressive-mnist", tmp_path / "weights")
    assert card["steps"] == 5 and card["steps_per_phase"] == 1 and [p[0] for p in card["phases"]][-1] == "28x28 stable"
    assert card["train_seconds"] == pytest.approx(rows[-1]["seconds"], abs=0.1)
    assert card["config"]["steps"] == 5 and card["config"]["loss"] == "wgan-gp" and card["config"]["batch_size"] == 8
    G = pretrained.load("progressive-mnist", weights_dir=tmp_path / "weights")
    assert isinstance(G, ProgressiveGenerator) and G(torch.zeros(2, 8)).shape == (2, 1, 28, 28)
