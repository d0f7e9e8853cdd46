"""Output shapes of every model for batch sizes 1 and 7, and the DCGAN initialisation."""
import pytest
import torch

from gancourse import models as M


@pytest.mark.parametrize("name", sorted(M.MODELS))
@pytest.mark.parametrize("batch", [1, 7])
def test_shapes(name, batch):
    G, D = M.build(name)
    G.eval(), D.eval()  # batch size 1 needs running BN statistics
    z = torch.randn(batch, G.z_dim)
    if M.is_conditional(G):
        y = torch.randint(0, 10, (batch,))
        x = G(z, y)
        out = D(x, y)
    else:
        x = G(z)
        out = D(x)
    assert x.shape == (batch, 1, 28, 28)
    assert out.shape == (batch, 1)


def test_output_ranges():
    z = torch.randn(16, 100)
    assert M.DCGANGenerator()(z).abs().max() <= 1           # tanh
    k = M.KerasStyleGenerator()(z)
    assert k.min() >= 0 and k.max() <= 1                    # sigmoid, for [0, 1] data


def test_case_study_layers():
    G, D = M.DCGANGenerator(), M.DCGANDiscriminator()
    assert G.project.out_features == 7 * 7 * 128
    convt = [m for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels, m.kernel_size, m.stride) for m in convt] == \
        [(128, 64, (5, 5), (2, 2)), (64, 1, (5, 5), (2, 2))]
    assert isinstance(G.net[-1], torch.nn.Tanh)
    feats = D.features(torch.randn(2, 1, 28, 28))
    assert feats.shape == (2, 7 * 7 * 128)
    # no BN on D's first layer
    assert isinstance(D.body[0], torch.nn.Conv2d) and isinstance(D.body[1], torch.nn.LeakyReLU)


def test_deep_generator_layers():
    """The deeper generator: BN + ReLU after the projection, then 7x7 -> 7x7 -> 14x14 -> 28x28."""
    G = M.DeepDCGANGenerator().eval()
    h = G.project(torch.randn(2, 100))
    assert h.shape == (2, 256, 7, 7) and h.min() >= 0                    # after ReLU
    assert isinstance(G.project[2], torch.nn.BatchNorm2d) and G.project[0].bias is None
    convt = [m for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert [(m.in_channels, m.out_channels, m.stride) for m in convt] == \
        [(256, 128, (1, 1)), (128, 64, (2, 2)), (64, 1, (2, 2))]
    sizes = []
    x = h
    for layer in G.net:
        x = layer(x)
        if isinstance(layer, torch.nn.ConvTranspose2d):
            sizes.append(tuple(x.shape[1:]))
    assert sizes == [(128, 7, 7), (64, 14, 14), (1, 28, 28)]
    assert isinstance(G.net[-1], torch.nn.Tanh)
    assert M.DeepDCGANGenerator(z_dim=16, width=8)(torch.randn(3, 16)).shape == (3, 1, 28, 28)
    G.train()
    assert G(torch.randn(1, 100)).shape == (1, 1, 28, 28)  # BN over 7x7 maps: a batch of one works


def test_discriminator_third_block():
    """blocks=3 adds conv 5x5/2 -> (256, 4, 4) + BN + LeakyReLU; blocks=2 keeps the case study's keys."""
    D = M.DCGANDiscriminator(blocks=3)
    feats = D.features(torch.randn(2, 1, 28, 28))
    assert feats.shape == (2, 256 * 4 * 4) and D.head.in_features == 4096
    convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(m.out_channels, m.stride) for m in convs] == [(64, (2, 2)), (128, (2, 2)), (256, (2, 2))]
    assert isinstance(D.body[6], torch.nn.BatchNorm2d) and convs[2].bias is None
    # the first two blocks are the case study's, under the same names and shapes
    case = M.DCGANDiscriminator().state_dict()
    deep = D.state_dict()
    assert all(deep[k].shape == v.shape for k, v in case.items() if k != "head.weight")
    with pytest.raises(ValueError, match="blocks"):
        M.DCGANDiscriminator(blocks=4)


def test_dcgan_generator_makes_a_batch_of_one_in_train_mode():
    """Its batch norm averages each channel over 1 x 14 x 14 = 196 values, so one sample is enough
    (the DCGAN chapter and the dcgan quiz say so)."""
    torch.manual_seed(0)
    G = M.DCGANGenerator().train()
    with torch.no_grad():
        x = G(torch.randn(1, G.z_dim))
    assert x.shape == (1, 1, 28, 28)
    assert torch.isfinite(x).all() and x.std() > 0                # a real image, not NaN or a constant
    assert G.net[1].num_batches_tracked.item() == 1               # it ran in training mode


@pytest.mark.parametrize("layer, shape", [(torch.nn.BatchNorm1d(8), (1, 8)),
                                          (torch.nn.BatchNorm2d(8), (1, 8, 1, 1))],
                         ids=["BatchNorm1d", "BatchNorm2d on 1x1 maps"])
def test_batch_norm_cannot_train_on_one_value_per_channel(layer, shape):
    """Where the batch norm does fail on a batch of one: one value per channel has no variance."""
    layer.train()
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        layer(torch.randn(*shape))
    layer(torch.randn(2, *shape[1:]))                             # two samples are enough


def test_widths_configurable():
    G = M.DCGANGenerator(z_dim=16, width=8)
    assert G(torch.randn(3, 16)).shape == (3, 1, 28, 28)
    assert M.DCGANDiscriminator(width=8)(torch.randn(3, 1, 28, 28)).shape == (3, 1)


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    G = M.DCGANGenerator(width=128)
    w = G.net[0].weight
    assert abs(w.mean().item()) < 1e-3 and w.std().item() == pytest.approx(0.02, rel=0.05)
    bn = G.net[1]
    assert bn.weight.mean().item() == pytest.approx(1.0, abs=0.01)
    assert torch.all(bn.bias == 0) and torch.all(G.project.bias == 0)


def test_conditional_label_errors():
    G = M.ConditionalDCGANGenerator()
    with pytest.raises(TypeError, match="integer"):
        G(torch.randn(2, 100), torch.tensor([0.0, 1.0]))


@pytest.mark.parametrize("D_cls", [M.ConditionalDCGANDiscriminator, M.ConditionalMLPDiscriminator])
def test_conditional_discriminator_relates_label_and_image(D_cls):
    """Switching the label must change D's verdict differently for different images; a label
    that only shifts the logit by a per-class constant cannot tell a wrong digit from a right one."""
    torch.manual_seed(0)
    D = D_cls().eval()
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        a = D(x, torch.tensor([3, 3])) - D(x, torch.tensor([5, 5]))   # label effect on each image
    assert a.shape == (2, 1)
    assert (a[0] - a[1]).abs().item() > 1e-4, "the label's effect does not depend on the image"


def test_unknown_model_name_lists_valid():
    with pytest.raises(ValueError, match="dcgan"):
        M.build("stylegan9000")


@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
def test_discriminator_norm_options(norm):
    """Only batch norm makes one sample's score depend on the others in its batch (train mode),
    which is why a WGAN-GP critic uses "layer" or "none"."""
    torch.manual_seed(0)
    D = M.DCGANDiscriminator(width=8, norm=norm).train()
    x = torch.randn(6, 1, 28, 28)
    other = torch.cat([x[:1], torch.randn(5, 1, 28, 28)])
    out = D(x)
    assert out.shape == (6, 1)
    assert torch.allclose(out[0], D(other)[0], atol=1e-6) == (norm != "batch")


def test_discriminator_default_norm_is_the_case_study_batch_norm():
    assert isinstance(M.DCGANDiscriminator().body[3], torch.nn.BatchNorm2d)
    with pytest.raises(ValueError, match="norm must be one of"):
        M.DCGANDiscriminator(norm="instance")
