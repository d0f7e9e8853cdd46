"""Every loss against values computed by hand on small logit tensors."""
import math

import pytest
import torch

from gancourse import losses as L


def log_sigmoid(x):
    return math.log(1 / (1 + math.exp(-x)))


R = torch.tensor([[2.0], [-1.0]])   # real logits
F_ = torch.tensor([[0.5], [-3.0]])  # fake logits


def test_d_bce_plain():
    # -mean(log s(r)) - mean(log(1 - s(f))), and log(1 - s(f)) = log s(-f)
    expected = -(log_sigmoid(2) + log_sigmoid(-1)) / 2 - (log_sigmoid(-0.5) + log_sigmoid(3)) / 2
    assert L.d_loss_bce(R, F_).item() == pytest.approx(expected, rel=1e-6)


def test_d_bce_one_sided_smoothing_moves_real_targets_only():
    rt, ft = L.smoothed_targets(0.1, "one-sided")
    assert (rt, ft) == (0.9, 0.0)

    def bce(l, t):
        return -(t * log_sigmoid(l) + (1 - t) * log_sigmoid(-l))

    expected = (bce(2, .9) + bce(-1, .9)) / 2 + (bce(.5, 0) + bce(-3, 0)) / 2
    assert L.d_loss_bce(R, F_, rt, ft).item() == pytest.approx(expected, rel=1e-6)


def test_two_sided_smoothing_moves_both():
    assert L.smoothed_targets(0.1, "two-sided") == (0.9, 0.1)
    assert L.smoothed_targets(0.1, "none") == (1.0, 0.0)
    with pytest.raises(ValueError, match="smoothing mode"):
        L.smoothed_targets(0.1, "both")
    with pytest.raises(ValueError, match=r"\[0, 0.5\)"):
        L.smoothed_targets(0.7)


def test_generator_losses_by_hand():
    # minimax: mean(log(1 - s(f))) ; non-saturating: -mean(log s(f))
    assert L.g_loss_minimax(F_).item() == pytest.approx((log_sigmoid(-.5) + log_sigmoid(3)) / 2, rel=1e-6)
    assert L.g_loss_nonsaturating(F_).item() == pytest.approx(-(log_sigmoid(.5) + log_sigmoid(-3)) / 2, rel=1e-6)


def test_lsgan_by_hand():
    r, f = torch.tensor([1.5, 0.0]), torch.tensor([0.5, -1.0])
    assert L.d_loss_lsgan(r, f).item() == pytest.approx(0.5 * (0.25 + 1) / 2 + 0.5 * (0.25 + 1) / 2)
    assert L.g_loss_lsgan(f).item() == pytest.approx(0.5 * (0.25 + 4) / 2)


def test_wgan_and_hinge_by_hand():
    r, f = torch.tensor([2.0, 0.5]), torch.tensor([-0.5, 1.5])
    assert L.d_loss_wgan(r, f).item() == pytest.approx(0.5 - 1.25)
    assert L.g_loss_wgan(f).item() == pytest.approx(-0.5)
    # relu(1 - r) = [0, 0.5]; relu(1 + f) = [0.5, 2.5]
    assert L.d_loss_hinge(r, f).item() == pytest.approx(0.25 + 1.5)
    assert L.g_loss_hinge(f).item() == pytest.approx(-0.5)


def test_weight_clipping():
    lin = torch.nn.Linear(3, 2)
    with torch.no_grad():
        lin.weight.fill_(5.0)
        lin.bias.fill_(-5.0)
    L.clip_weights(lin, 0.01)
    assert lin.weight.max().item() == pytest.approx(0.01)
    assert lin.bias.min().item() == pytest.approx(-0.01)
    with pytest.raises(ValueError):
        L.clip_weights(lin, 0)


def test_saturating_vs_nonsaturating_gradient_near_zero():
    """Near D(G(z)) = 0 the minimax loss's gradient vanishes; the non-saturating one does not."""
    logit = torch.tensor([-10.0], requires_grad=True)  # D(G(z)) = sigmoid(-10) ~ 4.5e-5
    (g_sat,) = torch.autograd.grad(L.g_loss_minimax(logit), logit)
    (g_ns,) = torch.autograd.grad(L.g_loss_nonsaturating(logit), logit)
    d = torch.sigmoid(torch.tensor(-10.0)).item()
    # d/dl log(1 - s(l)) = -s(l) ;  d/dl -log s(l) = -(1 - s(l))
    assert g_sat.item() == pytest.approx(-d, rel=1e-5)
    assert g_ns.item() == pytest.approx(-(1 - d), rel=1e-5)
    assert abs(g_sat.item()) < 1e-4 < 0.99 < abs(g_ns.item())


def test_log_sigmoid_gradients_are_the_activations_chapters():
    """d/dl log s(l) = 1 - s(l) and d/dl log(1 - s(l)) = -s(l); so -log s(l) has the gradient s(l) - 1."""
    logits = torch.tensor([-200.0, -20.0, -3.0, -0.5, 0.0, 0.5, 3.0, 20.0, 200.0])
    s = torch.sigmoid(logits)
    for i, l in enumerate(logits.tolist()):
        x = torch.tensor([l], requires_grad=True)
        (g_log_s,) = torch.autograd.grad(-L.g_loss_nonsaturating(x), x)       # log s(l) = -softplus(-l)
        (g_log_1ms,) = torch.autograd.grad(L.g_loss_minimax(x), x)            # log(1 - s(l)) = -softplus(l)
        assert g_log_s.item() == pytest.approx(1 - s[i].item(), abs=1e-7)
        assert g_log_1ms.item() == pytest.approx(-s[i].item(), abs=1e-7)


@pytest.mark.parametrize("fn", [L.g_loss_minimax, L.g_loss_nonsaturating])
def test_bce_extreme_logits_are_finite(fn):
    x = torch.tensor([100.0, -100.0], requires_grad=True)
    loss = fn(x)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(x.grad).all()
    d = L.d_loss_bce(x.detach()[:1].requires_grad_(), -x.detach()[:1].requires_grad_())
    assert torch.isfinite(d)
    big = L.d_loss_bce(torch.tensor([-100.0]), torch.tensor([100.0]))
    assert big.item() == pytest.approx(200.0, rel=1e-4)  # both terms ~ 100, not inf


def test_gradient_penalty_linear_critic():
    """f(x) = w.x has gradient w everywhere, so the penalty is (||w|| - 1)^2."""
    w = torch.tensor([3.0, 4.0, 0.0, 12.0])  # ||w|| = 13
    critic = lambda x: x.flatten(1) @ w  # noqa: E731
    real, fake = torch.randn(5, 4), torch.randn(5, 4)
    assert L.gradient_penalty(critic, real, fake).item() == pytest.approx(144.0)


def test_gradient_penalty_is_taken_at_interpolates():
    """A critic whose gradient norm depends on x shows where the penalty is evaluated."""
    critic = lambda x: 0.5 * (x ** 2).sum(1)  # grad = x, norm = |x|  # noqa: E731
    real, fake = torch.full((4000, 1), 2.0), torch.zeros(4000, 1)
    gp = L.gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(0)).item()
    # at x = 2e with e ~ U[0,1]: E[(2e - 1)^2] = 1/3 ; at the reals it would be 1, at fakes 1
    assert gp == pytest.approx(1 / 3, abs=0.02)


def test_r1_known_function():
    """D(x) = sum(x^2) has gradient 2x, so R1 = mean ||2x||^2."""
    x = torch.tensor([[1.0, 2.0], [0.0, 3.0]])
    critic = lambda x: (x ** 2).sum(1)  # noqa: E731
    assert L.r1_penalty(critic, x).item() == pytest.approx((4 * 5 + 4 * 9) / 2)


def test_instance_noise_and_annealing():
    assert L.annealed_sigma(0, 100, 0.2) == pytest.approx(0.2)
    assert L.annealed_sigma(50, 100, 0.2) == pytest.approx(0.1)
    assert L.annealed_sigma(100, 100, 0.2) == 0.0
    x = torch.zeros(10000)
    assert L.instance_noise(x, 0.0) is x
    assert L.instance_noise(x, 0.5).std().item() == pytest.approx(0.5, rel=0.05)


def test_flip_labels():
    t = torch.ones(10000)
    flipped = L.flip_labels(t, 0.1, generator=torch.Generator().manual_seed(0))
    assert set(flipped.unique().tolist()) <= {0.0, 1.0}
    assert (flipped == 0).float().mean().item() == pytest.approx(0.1, abs=0.015)
    assert torch.equal(L.flip_labels(t, 0.0), t)
    with pytest.raises(ValueError):
        L.flip_labels(t, 1.5)


def test_spectral_norm_makes_layers_one_lipschitz():
    from gancourse.models import DCGANDiscriminator

    D = L.apply_spectral_norm(DCGANDiscriminator(width=8))
    D.eval()
    for _ in range(3):  # power iteration converges during forward passes in train mode
        D.train()(torch.randn(4, 1, 28, 28))
    D.eval()
    head = D.head
    assert hasattr(head, "parametrizations")
    sigma = torch.linalg.matrix_norm(head.weight, ord=2).item()
    assert sigma == pytest.approx(1.0, rel=0.05)
