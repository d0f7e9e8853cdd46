"""StyleGAN-lite: shapes, AdaIN, truncation, style mixing, minibatch std, w_avg, the
Wasserstein + R1 training options (clip_value=None), checkpoints, the recipe and the explorer."""
import copy

import pytest
import torch

from gancourse import losses as L
from gancourse import models as M
from gancourse import pretrain
from gancourse.data import ImageData
from gancourse.stylegan import (AdaIN, MappingNetwork, MinibatchStdDev, NoiseInjection, StyleDiscriminator,
                                StyleGenerator, SynthesisNetwork, generate_images, mix_styles, truncate)
from gancourse.train import Checkpoint, SampleGrid, TrainConfig, Trainer, d_step

torch.set_num_threads(1)

SMALL_G = dict(z_dim=16, w_dim=16, channels=(16, 16, 8, 8), mapping_depth=2)
SMALL_D = dict(channels=(8, 8, 16))
WGAN_R1 = dict(loss="wgan", clip_value=None, r1_gamma=10.0, betas=(0.0, 0.99), device="cpu")


def small_pair(seed=0, **g_kwargs):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return StyleGenerator(**{**SMALL_G, **g_kwargs}), StyleDiscriminator(**SMALL_D)


# ----------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("batch", [1, 7])
def test_module_shapes(batch):
    z = torch.randn(batch, 16)
    assert MappingNetwork(16, 24, depth=3)(z).shape == (batch, 24)
    x = torch.randn(batch, 5, 7, 7)
    assert AdaIN(5, 16)(x, torch.randn(batch, 16)).shape == (batch, 5, 7, 7)
    assert NoiseInjection(5, 7)(x).shape == (batch, 5, 7, 7)
    assert NoiseInjection(5, 7).eval()(x).shape == (batch, 5, 7, 7)
    assert MinibatchStdDev(4)(x).shape == (batch, 6, 7, 7)
    syn = SynthesisNetwork(16, (8, 8, 8, 8))
    assert syn(torch.randn(batch, syn.n_layers, 16)).shape == (batch, 1, 28, 28)
    for mode in ("train", "eval"):
        G, D = small_pair()
        getattr(G, mode)(), getattr(D, mode)()
        img = G(z)
        assert img.shape == (batch, 1, 28, 28) and img.abs().max() <= 1
        assert D(img).shape == (batch, 1)
        assert D.features(img).shape == (batch, 16)


def test_default_sizes_and_mapping_synthesis_shapes():
    G = StyleGenerator()
    assert (G.z_dim, G.w_dim, G.n_layers, G.num_ws) == (128, 128, 8, 8)
    assert G.w_avg.shape == (128,) and "w_avg" in G.state_dict()
    z = torch.randn(3, 128)
    w = G.mapping(z)
    assert w.shape == (3, 128)
    assert G.synthesis(w.unsqueeze(1).repeat(1, 8, 1)).shape == (3, 1, 28, 28)
    with pytest.raises(ValueError, match=r"ws must have shape \(B, 8, 128\)"):
        G.synthesis(w)
    with pytest.raises(ValueError, match="channels must be 4 widths"):
        StyleGenerator(channels=(8, 8, 8))


def test_synthesis_layer_sizes():
    syn = SynthesisNetwork(16, (16, 12, 8, 4), noise=False)
    x = syn.const.expand(2, -1, -1, -1)
    sizes = []
    for i, layer in enumerate(syn.layers):
        x = layer(x, torch.randn(2, 16))
        sizes.append(tuple(x.shape[1:]))
    assert sizes == [(16, 4, 4), (16, 4, 4), (12, 7, 7), (12, 7, 7), (8, 14, 14), (8, 14, 14),
                     (4, 28, 28), (4, 28, 28)]


# ------------------------------------------------------------------------------ AdaIN
def test_adain_normalises_then_applies_the_style():
    torch.manual_seed(0)
    ada = AdaIN(3, 4)
    scale, bias = torch.tensor([0.5, 2.0, 3.0]), torch.tensor([-1.0, 0.0, 4.0])
    with torch.no_grad():
        ada.affine.weight.zero_()
        ada.affine.bias.copy_(torch.cat([scale, bias]))
    x = torch.randn(2, 3, 6, 6) * 5 + 7
    out = ada(x, torch.randn(2, 4))
    assert torch.allclose(out.mean(dim=(2, 3)), bias.expand(2, 3), atol=1e-5)
    assert torch.allclose(out.std(dim=(2, 3), unbiased=False), scale.expand(2, 3), atol=1e-4)
    # Normalisation erased the input's own per-channel level and contrast:
    x2 = x * torch.tensor([3.0, 0.2, 1.5]).view(1, 3, 1, 1) - 4.0
    assert torch.allclose(ada(x2, torch.randn(2, 4)), out, atol=1e-4)


def test_adain_style_comes_from_w():
    torch.manual_seed(0)
    ada = AdaIN(3, 4)
    x = torch.randn(2, 3, 5, 5)
    w = torch.randn(2, 4)
    scale, bias = ada.affine(w).chunk(2, dim=1)
    out = ada(x, w)
    assert torch.allclose(out.mean(dim=(2, 3)), bias, atol=1e-5)
    assert torch.allclose(out.std(dim=(2, 3), unbiased=False), scale.abs(), atol=1e-4)


def test_fresh_adain_is_the_identity_style():
    ada = AdaIN(3, 4)
    out = ada(torch.randn(2, 3, 5, 5), torch.zeros(2, 4))  # w = 0: scale 1, bias 0
    assert torch.allclose(out.mean(dim=(2, 3)), torch.zeros(2, 3), atol=1e-5)
    assert torch.allclose(out.std(dim=(2, 3), unbiased=False), torch.ones(2, 3), atol=1e-3)


def test_noise_is_random_in_training_fixed_in_eval():
    n = NoiseInjection(2, 5)
    with torch.no_grad():
        n.strength.fill_(1.0)
    x = torch.zeros(3, 2, 5, 5)
    a, b = n(x), n(x)
    assert not torch.equal(a, b)
    n.eval()
    assert torch.equal(n(x), n(x)) and torch.equal(n(x)[0, 0], n.fixed[0, 0])
    assert torch.equal(NoiseInjection(2, 5)(x), x)  # strength starts at 0


# ---------------------------------------------------------------- truncation, mixing
def test_truncation_psi_one_and_zero():
    G, _ = small_pair(noise=False)
    G.w_avg.normal_()  # a non-trivial centre
    z = torch.randn(5, 16, generator=torch.Generator().manual_seed(3))
    G.eval()
    with torch.no_grad():
        plain = G(z)
    assert torch.equal(generate_images(G, 5, psi=1.0, seed=3), plain)
    avg = generate_images(G, 5, psi=0.0, seed=3)
    assert not torch.allclose(plain[0], plain[1])
    for i in range(1, 5):
        assert torch.allclose(avg[i], avg[0], atol=1e-6)
    with torch.no_grad():
        expected = G.synthesis(G.w_avg.view(1, 1, -1).repeat(1, G.n_layers, 1))
    assert torch.allclose(avg[0], expected[0], atol=1e-5)  # another batch size: not bit for bit
    half = generate_images(G, 5, psi=0.5, seed=3)
    assert not torch.allclose(half, plain) and not torch.allclose(half, avg)


def test_truncate_formula():
    w, avg = torch.tensor([[2.0, -4.0]]), torch.tensor([1.0, 0.0])
    assert torch.equal(truncate(w, avg, 1.0), w)
    assert torch.equal(truncate(w, avg, 0.0), avg.expand(1, 2))
    assert torch.allclose(truncate(w, avg, 0.5), torch.tensor([[1.5, -2.0]]))


def test_generate_images_is_seeded_and_leaves_state_alone():
    G, _ = small_pair()
    G.train()
    torch.manual_seed(5)
    state = torch.get_rng_state()
    a = generate_images(G, 4, seed=1)
    assert torch.equal(torch.get_rng_state(), state) and G.training
    assert torch.equal(a, generate_images(G, 4, seed=1))  # eval mode uses the fixed noise maps
    assert not torch.equal(a, generate_images(G, 4, seed=2))
    assert a.shape == (4, 1, 28, 28) and a.abs().max() <= 1


def test_style_mixing_crossovers():
    G, _ = small_pair()
    G.eval()
    n, seed = 3, 11
    g = torch.Generator().manual_seed(seed)
    z1, z2 = torch.randn(n, 16, generator=g), torch.randn(n, 16, generator=g)
    with torch.no_grad():
        first, second = G(z1), G(z2)
    assert torch.equal(generate_images(G, n, seed=seed, mix=G.n_layers), first)
    assert torch.equal(generate_images(G, n, seed=seed, mix=0), second)
    middle = generate_images(G, n, seed=seed, mix=4)
    assert not torch.allclose(middle, first) and not torch.allclose(middle, second)
    z3 = torch.randn(n, 16, generator=torch.Generator().manual_seed(99))
    with torch.no_grad():
        third = G(z3)
    assert torch.equal(generate_images(G, n, seed=seed, mix=0, mix_seed=99), third)
    with pytest.raises(ValueError, match="crossover must be an int in 0..8"):
        generate_images(G, n, mix=9)


def test_mix_styles_layout():
    a, b = torch.zeros(2, 3), torch.ones(2, 3)
    ws = mix_styles(a, b, 3, 8)
    assert ws.shape == (2, 8, 3)
    assert ws[:, :3].eq(0).all() and ws[:, 3:].eq(1).all()


def test_mixing_regularisation_in_training_only():
    G, _ = small_pair(mixing_prob=1.0)
    z = torch.randn(64, 16)
    w = G.mapping(z)
    ws = G._mix_regularise(z, w.unsqueeze(1).repeat(1, G.n_layers, 1))
    assert torch.equal(ws[:, 0], w)                          # the crossover is >= 1
    assert not torch.equal(ws[:, -1], w)                     # and <= n_layers - 1
    from_w = (ws == w.unsqueeze(1)).all(-1)                  # (B, L): layer kept from w
    assert (from_w.int().diff(dim=1) <= 0).all()             # w first, then the second style
    G.eval()
    with torch.no_grad():
        assert torch.equal(G(z), G(z))


# -------------------------------------------------------------------------------- w_avg
def test_w_avg_tracks_training_batches_only():
    G, _ = small_pair(w_avg_beta=0.5)
    z = torch.randn(8, 16)
    with torch.no_grad():
        w_mean = G.mapping(z).mean(0)
        G.eval()
        G(z)
        assert torch.equal(G.w_avg, torch.zeros(16))
        G.train()
        G(z)
    assert torch.allclose(G.w_avg, 0.5 * w_mean, atol=1e-6)


def test_update_w_avg_is_the_mean_of_mapped_codes():
    G, _ = small_pair()
    out = G.update_w_avg(n=300, seed=4, batch_size=128)
    z = torch.randn(300, 16, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        assert torch.allclose(out, G.mapping(z).mean(0), atol=1e-5)
    assert out is G.w_avg


# ------------------------------------------------------------------ minibatch std dev
def test_minibatch_std_identical_batch_gives_zero_and_diverse_batch_more():
    mb = MinibatchStdDev(group_size=4)
    same = torch.randn(1, 3, 5, 5).repeat(8, 1, 1, 1)
    out = mb(same)
    assert out.shape == (8, 4, 5, 5) and torch.equal(out[:, :3], same)
    assert out[:, 3].abs().max() < 1e-3                     # sqrt(eps) = 1e-4
    diverse = mb(torch.randn(8, 3, 5, 5))[:, 3]
    assert diverse.min() > 0.3
    assert torch.equal(diverse[0], torch.full((5, 5), diverse[0, 0, 0].item()))  # constant per sample


def test_minibatch_std_groups_and_remainders():
    x = torch.randn(7, 2, 3, 3)
    out = MinibatchStdDev(group_size=4)(x)[:, 2, 0, 0]

    def group_std(chunk):
        return torch.sqrt(chunk.var(0, unbiased=False) + 1e-8).mean()

    assert torch.allclose(out[:4], group_std(x[:4]).expand(4), atol=1e-6)
    assert torch.allclose(out[4:], group_std(x[4:]).expand(3), atol=1e-6)
    x5 = torch.randn(5, 2, 3, 3)                             # a remainder of one joins the group before
    assert torch.allclose(MinibatchStdDev(4)(x5)[:, 2, 0, 0], group_std(x5).expand(5), atol=1e-6)
    one = MinibatchStdDev(4)(torch.randn(1, 2, 3, 3))
    assert one.shape == (1, 3, 3, 3) and torch.allclose(one[:, 2], torch.full((1, 3, 3), 1e-4))


def test_minibatch_std_lets_d_see_collapse():
    torch.manual_seed(0)
    D = StyleDiscriminator(**SMALL_D).eval()
    collapsed = torch.rand(1, 1, 28, 28).repeat(8, 1, 1, 1) * 2 - 1
    varied = torch.cat([collapsed[:1], torch.rand(7, 1, 28, 28) * 2 - 1])
    with torch.no_grad():  # the same first image scores differently in a varied batch
        assert not torch.allclose(D(collapsed)[0], D(varied)[0])


# ----------------------------------------------------- Wasserstein without clipping, R1
def test_clip_value_validation():
    assert TrainConfig(loss="wgan").clip_value == 0.01       # the default is unchanged
    assert TrainConfig(loss="wgan", clip_value=None).clip_value is None
    for bad in (0, -0.1, float("nan")):
        with pytest.raises(ValueError, match="clip_value must be None"):
            TrainConfig(clip_value=bad)


def _d_update(cfg, G, D, real):
    D = copy.deepcopy(D)
    opt = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.0, 0.99))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        metrics = d_step(G, D, opt, real, None, cfg)
    return D, metrics


def test_wgan_clips_by_default_and_not_with_clip_value_none():
    G, D = small_pair()
    real = torch.rand(8, 1, 28, 28) * 2 - 1
    assert max(p.abs().max().item() for p in D.parameters()) > 0.05
    clipped, _ = _d_update(TrainConfig(loss="wgan", device="cpu"), G, D, real)
    assert max(p.abs().max().item() for p in clipped.parameters()) <= 0.01 + 1e-7
    free, _ = _d_update(TrainConfig(loss="wgan", clip_value=None, device="cpu"), G, D, real)
    assert max(p.abs().max().item() for p in free.parameters()) > 0.05


def test_r1_is_added_when_gamma_positive():
    G, D = small_pair()
    real = torch.rand(8, 1, 28, 28) * 2 - 1
    expected = 0.5 * 10.0 * L.r1_penalty(D, real).item()
    assert expected > 0
    _, plain = _d_update(TrainConfig(loss="wgan", clip_value=None, device="cpu"), G, D, real)
    _, with_r1 = _d_update(TrainConfig(loss="wgan", clip_value=None, r1_gamma=10.0, device="cpu"), G, D, real)
    assert float(with_r1["loss_D"] - plain["loss_D"]) == pytest.approx(expected, rel=1e-4)
    assert float(with_r1["D(x)"]) == float(plain["D(x)"])


# ------------------------------------------------------------------ training, checkpoints
def test_one_training_step_on_fake_data(fake_data):
    G, D = small_pair(mixing_prob=0.5)
    before = [p.clone() for p in G.parameters()]
    t = Trainer(G, D, fake_data, TrainConfig(steps=1, batch_size=16, **WGAN_R1))
    hist = t.fit()
    assert set(hist) == {"loss_D", "loss_G", "D(x)", "D(G(z))"}
    assert any(not torch.equal(a, b) for a, b in zip(before, G.parameters()))
    assert G.w_avg.abs().sum() > 0                          # tracked during training


def _trainer(data, ckpt=None, grid=None):
    G, D = small_pair(seed=1, mixing_prob=0.5)
    callbacks = ([Checkpoint(ckpt, every=1)] if ckpt else []) + ([SampleGrid(every=1, n=8, out_dir=grid)] if grid else [])
    return Trainer(G, D, data, TrainConfig(steps=2, batch_size=16, seed=2, **WGAN_R1), callbacks=callbacks)


def test_checkpoint_and_resume_two_steps(fake_data, tmp_path):
    straight = _trainer(fake_data)
    straight.fit()
    ckpt = tmp_path / "style.pt"
    first = _trainer(fake_data, ckpt=ckpt, grid=tmp_path / "grid")
    first.fit(1)
    assert ckpt.is_file() and first.step == 1
    assert sorted(p.name for p in (tmp_path / "grid").iterdir()) == ["step_000001.png"]
    resumed = _trainer(fake_data).load(ckpt)
    assert resumed.step == 1
    resumed.fit()
    assert resumed.step == 2
    for a, b in zip(straight.G.state_dict().values(), resumed.G.state_dict().values()):
        assert torch.equal(a, b)                             # w_avg and noise maps included
    for a, b in zip(straight.D.state_dict().values(), resumed.D.state_dict().values()):
        assert torch.equal(a, b)
    assert straight.history == resumed.history


def test_models_registry_and_recipe(monkeypatch, tmp_path):
    assert M.MODELS["stylegan"] == (StyleGenerator, StyleDiscriminator)
    r = pretrain.RECIPES["stylegan7-mnist"]
    cfg = TrainConfig(**{**r["config"], "device": "cpu"})
    assert (cfg.loss, cfg.clip_value, r["digits"]) == ("wgan", None, [7]) and cfg.r1_gamma > 0
    seen = {}

    def fake_load(train=True, **kwargs):
        seen.update(kwargs)
        g = torch.Generator().manual_seed(0)
        return ImageData(torch.rand(64, 1, 28, 28, generator=g) * 2 - 1, torch.full((64,), 7))

    monkeypatch.setattr(pretrain, "load_mnist", fake_load)
    monkeypatch.setitem(pretrain.RECIPES, "stylegan7-mnist",
                        {**r, "g_kwargs": {**r["g_kwargs"], **SMALL_G}, "d_kwargs": SMALL_D})
    assert pretrain.main(["stylegan7-mnist", "--steps", "1", "--run-dir", str(tmp_path), "--device", "cpu",
                          "--no-export"]) == 0
    assert seen["digits"] == [7]
    assert (tmp_path / "stylegan7-mnist" / "checkpoint.pt").is_file()


# ------------------------------------------------------------------ latent explorer fit
def test_fits_the_latent_explorer_protocol():
    from gancourse.interactive import LatentExplorer, is_style_based

    G, _ = small_pair()
    G.update_w_avg(n=64)
    assert is_style_based(G)
    ex = LatentExplorer(G, n_samples=16, static=False)
    assert ex.num_ws == G.n_layers and "mix" in [c.name for c in ex.controls]
    z_c = torch.randn(1, 16, generator=torch.Generator().manual_seed(ex.seeds[2]))
    G.eval()
    with torch.no_grad():
        only_c = G(z_c)[0]
    assert torch.allclose(ex.render(mix=0), only_c, atol=1e-5)  # every style from seed C
