"""gancourse.toy: the ring of Gaussians, mode coverage, and the exact 1-D game quantities."""
import math

import pytest
import torch

from gancourse import losses, toy
from gancourse.train import TrainConfig, Trainer


def test_ring_centres_lie_on_the_circle_evenly():
    c = toy.ring_centres(8, radius=2.0)
    assert c.shape == (8, 2)
    assert torch.allclose(c.norm(dim=1), torch.full((8,), 2.0), atol=1e-6)
    assert torch.allclose(c[0], torch.tensor([2.0, 0.0]), atol=1e-6)
    gaps = (c - c.roll(1, dims=0)).norm(dim=1)
    assert torch.allclose(gaps, gaps[0].expand(8), atol=1e-5)
    with pytest.raises(ValueError):
        toy.ring_centres(0)


def test_sample_ring_is_reproducible_and_covers_every_mode():
    a = toy.sample_ring(4000, generator=torch.Generator().manual_seed(0))
    b = toy.sample_ring(4000, generator=torch.Generator().manual_seed(0))
    assert a.shape == (4000, 2) and torch.equal(a, b)
    cov = toy.mode_coverage(a)
    assert cov.covered == 8
    assert cov.high_quality > 0.98          # 3 sigma of a 2-D Gaussian holds 98.9%
    assert sum(cov.counts) == round(cov.high_quality * cov.n)


def test_mode_coverage_counts_a_collapsed_generator_as_one_mode():
    centres = toy.ring_centres()
    samples = centres[3] + 0.01 * torch.randn(500, 2, generator=torch.Generator().manual_seed(1))
    cov = toy.mode_coverage(samples)
    assert cov.covered == 1 and cov.counts[3] == 500
    assert cov.high_quality == 1.0
    far = torch.zeros(100, 2)                # the ring's centre: 2 away from every mode
    cov = toy.mode_coverage(far)
    assert cov.covered == 0 and cov.high_quality == 0.0
    assert cov.mean_distance == pytest.approx(2.0, abs=1e-5)
    assert "0/8 modes covered" in str(cov)


def test_mode_coverage_min_share_threshold():
    centres = toy.ring_centres()
    # 97 points on mode 0, 3 on mode 1: mode 1 holds 3% >= 2%, so both count; at 5% only mode 0 does
    samples = torch.cat([centres[0].expand(97, 2), centres[1].expand(3, 2)])
    assert toy.mode_coverage(samples).covered == 2
    assert toy.mode_coverage(samples, min_share=0.05).covered == 1


def test_toy_models_shapes_and_trainer_accepts_2d_data():
    G, D = toy.ToyGenerator(z_dim=3, hidden=16), toy.ToyDiscriminator(hidden=16)
    z = torch.randn(5, 3)
    assert G(z).shape == (5, 2) and D(G(z)).shape == (5, 1)
    data = toy.sample_ring(512, generator=torch.Generator().manual_seed(0))
    tracker = toy.CoverageTracker(every=2, n=100)
    t = Trainer(G, D, data, TrainConfig(steps=4, batch_size=64, device="cpu"), callbacks=[tracker])
    t.fit()
    assert [s for s, _ in tracker.history] == [2, 4]
    assert all(isinstance(c, toy.Coverage) and c.n == 100 for _, c in tracker.history)


def test_coverage_tracker_does_not_change_the_training_run():
    data = toy.sample_ring(512, generator=torch.Generator().manual_seed(0))

    def run(callbacks):
        torch.manual_seed(0)
        G, D = toy.ToyGenerator(z_dim=2, hidden=8), toy.ToyDiscriminator(hidden=8)
        Trainer(G, D, data, TrainConfig(steps=3, batch_size=32, device="cpu"), callbacks=callbacks).fit()
        return torch.cat([p.detach().flatten() for p in G.parameters()])

    assert torch.equal(run([]), run([toy.CoverageTracker(every=1, n=50)]))


def test_gaussian_generator_is_exactly_that_gaussian():
    G = toy.GaussianGenerator(mean=2.0, std=0.5)
    x = G(torch.randn(100_000, 1, generator=torch.Generator().manual_seed(0))).detach()
    assert x.mean().item() == pytest.approx(2.0, abs=0.01)
    assert x.std().item() == pytest.approx(0.5, abs=0.01)
    assert G.z_dim == 1


X = torch.linspace(-12, 12, 24001, dtype=torch.float64)


def test_densities_integrate_to_one_and_logpdf_matches():
    p = toy.gaussian_pdf(X, 1.0, 0.5)
    assert toy.integrate(p, X) == pytest.approx(1.0, abs=1e-9)
    assert torch.allclose(toy.gaussian_logpdf(X, 1.0, 0.5).exp(), p)


def test_optimal_discriminator_and_its_logit():
    p, q = toy.gaussian_pdf(X, 1.0, 0.5), toy.gaussian_pdf(X, -1.0, 1.0)
    d = toy.optimal_discriminator(p, q)
    assert torch.allclose(d, p / (p + q))
    logit = toy.optimal_logit(toy.gaussian_logpdf(X, 1.0, 0.5), toy.gaussian_logpdf(X, -1.0, 1.0))
    assert torch.allclose(torch.sigmoid(logit), d)
    assert torch.equal(toy.optimal_discriminator(p, p), torch.full_like(p, 0.5))
    zero = torch.zeros(3, dtype=torch.float64)
    assert torch.equal(toy.optimal_discriminator(zero, zero), torch.full_like(zero, 0.5))


def test_jsd_limits_and_symmetry():
    p = toy.gaussian_pdf(X, 0.0, 1.0)
    assert toy.jsd(p, p, X) == pytest.approx(0.0, abs=1e-12)
    far = toy.gaussian_pdf(X, 10.0, 0.3)
    assert toy.jsd(p, far, X) == pytest.approx(math.log(2), abs=1e-6)
    q = toy.gaussian_pdf(X, 0.7, 1.3)
    assert toy.jsd(p, q, X) == pytest.approx(toy.jsd(q, p, X), rel=1e-12)
    assert 0 < toy.jsd(p, q, X) < math.log(2)


@pytest.mark.parametrize("mean,std", [(1.0, 0.5), (0.0, 1.0), (-1.0, 1.0), (4.0, 0.5)])
def test_value_at_the_optimal_discriminator_is_minus_log4_plus_2jsd(mean, std):
    p, q = toy.gaussian_pdf(X, 1.0, 0.5), toy.gaussian_pdf(X, mean, std)
    logit = toy.optimal_logit(toy.gaussian_logpdf(X, 1.0, 0.5), toy.gaussian_logpdf(X, mean, std))
    c = toy.value_function(logit, p, q, X)
    assert c == pytest.approx(-math.log(4) + 2 * toy.jsd(p, q, X), abs=1e-9)
    # no other discriminator does better
    for other in (torch.zeros_like(X), X, 2 - X**2, logit + 0.3):
        assert toy.value_function(other, p, q, X) <= c + 1e-12


def test_value_function_matches_minus_d_loss_bce_on_samples():
    """Monte Carlo: -d_loss_bce on many samples estimates the exact integral."""
    g = torch.Generator().manual_seed(0)
    real = 1.0 + 0.5 * torch.randn(200_000, 1, generator=g, dtype=torch.float64)
    fake = -1.0 + torch.randn(200_000, 1, generator=g, dtype=torch.float64)
    D = lambda x: 1.5 * x - 0.2                                  # noqa: E731 a fixed logit function
    estimate = -losses.d_loss_bce(D(real), D(fake)).item()
    exact = toy.value_function(D(X), toy.gaussian_pdf(X, 1.0, 0.5), toy.gaussian_pdf(X, -1.0, 1.0), X)
    assert estimate == pytest.approx(exact, abs=0.01)


def test_plot_toy_state_draws_and_restores_modes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    G, D = toy.ToyGenerator(z_dim=2, hidden=8), toy.ToyDiscriminator(hidden=8)
    G.train(), D.eval()
    fig, ax = plt.subplots()
    image = toy.plot_toy_state(ax, G, D, toy.sample_ring(50), torch.randn(40, 2), losses.g_loss_nonsaturating,
                               arrows=10, title="t")
    assert image is not None and ax.get_title() == "t"
    assert G.training and not D.training
    assert all(p.grad is None for p in list(G.parameters()) + list(D.parameters()))
    plt.close(fig)
