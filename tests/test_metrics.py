"""Metrics: FID and IS on hand-computed cases, histogram/KL/coverage, label accuracy,
the shipped classifier and reference values, the pretrained loader and the quality report."""
import json
import math

import pytest
import torch
from torch import nn

from gancourse import models as M
from gancourse import pretrain
from gancourse.metrics import classifier as C
from gancourse.metrics import reference as R
from gancourse.metrics import scores as S
from gancourse.pretrained import PretrainedNotFoundError, available, card, load, pretrained
from gancourse.recipes import recipe_steps
from gancourse.train import TrainConfig, Trainer


# ----------------------------------------------------------------------------- FID
def test_fid_diagonal_gaussians_by_hand():
    mu1, mu2 = torch.tensor([0.0, 1.0, -2.0]), torch.tensor([1.0, 1.0, 0.5])
    a, b = torch.tensor([1.0, 4.0, 0.25]), torch.tensor([9.0, 1.0, 0.25])
    # ||mu1 - mu2||^2 = 1 + 0 + 6.25; sum(a + b - 2 sqrt(ab)) = (1+9-6) + (4+1-4) + (0.25+0.25-0.5)
    expected = 7.25 + 4 + 1 + 0
    assert S.frechet_distance(mu1, torch.diag(a), mu2, torch.diag(b)) == pytest.approx(expected, abs=1e-9)
    # the same Gaussians in a rotated basis: FID is invariant to a shared rotation
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    got = S.frechet_distance(q @ mu1.double(), q @ torch.diag(a).double() @ q.T,
                             q @ mu2.double(), q @ torch.diag(b).double() @ q.T)
    assert got == pytest.approx(expected, abs=1e-9)


def test_fid_one_dimensional_and_identical():
    # 1-D: (m1 - m2)^2 + (s1 - s2)^2 with standard deviations s
    assert S.frechet_distance(torch.tensor(2.0), torch.tensor([4.0]), torch.tensor(-1.0),
                              torch.tensor([1.0])) == pytest.approx(9 + 1)
    # plain numbers (0-d variances) work too: N(0, 1) against N(3, 2^2) is 9 + 1
    assert S.frechet_distance(0.0, 1.0, 3.0, 4.0) == pytest.approx(10)
    with pytest.raises(ValueError, match=r"\(d, d\) covariances"):
        S.frechet_distance(torch.zeros(2), torch.ones(2), torch.zeros(2), torch.eye(2))
    x = torch.randn(500, 6, generator=torch.Generator().manual_seed(1))
    assert S.frechet_distance(*S.gaussian_stats(x), *S.gaussian_stats(x)) == pytest.approx(0, abs=1e-9)


def test_fid_non_commuting_2x2_by_hand():
    # For a 2x2 matrix with non-negative eigenvalues, tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)).
    s1 = torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=torch.float64)
    s2 = torch.tensor([[1.0, -0.3], [-0.3, 3.0]], dtype=torch.float64)
    m = s1 @ s2
    tr_sqrt = math.sqrt(torch.trace(m).item() + 2 * math.sqrt(torch.det(m).item()))
    expected = 0.25 + torch.trace(s1).item() + torch.trace(s2).item() - 2 * tr_sqrt
    got = S.frechet_distance(torch.tensor([0.5, 0.0]), s1, torch.zeros(2), s2)
    assert got == pytest.approx(expected, abs=1e-9)


def test_gaussian_stats_match_torch_cov():
    x = torch.randn(200, 4, generator=torch.Generator().manual_seed(2))
    mu, cov = S.gaussian_stats(x)
    assert torch.allclose(mu, x.double().mean(0))
    assert torch.allclose(cov, torch.cov(x.double().T))


# ------------------------------------------------------------------------------ IS
def test_inception_score_bounds():
    labels = torch.arange(1000) % 10  # every split of 100 holds each class 10 times
    one_hot = torch.nn.functional.one_hot(labels, 10).float()
    mean, std = S.inception_score(one_hot, splits=10)
    assert mean == pytest.approx(10.0) and std == pytest.approx(0.0, abs=1e-9)
    constant = torch.zeros(1000, 10)
    constant[:, 3] = 1
    assert S.inception_score(constant)[0] == pytest.approx(1.0)
    soft = torch.softmax(torch.randn(1000, 10, generator=torch.Generator().manual_seed(0)), 1)
    assert 1.0 < S.inception_score(soft)[0] < 10.0
    uniform = torch.full((1000, 10), 0.1)  # no confidence: the same prediction for all
    assert S.inception_score(uniform)[0] == pytest.approx(1.0)
    with pytest.raises(ValueError):
        S.inception_score(one_hot, splits=0)


# ----------------------------------------------------------- histogram, KL, coverage
def test_histogram_kl_and_coverage_on_constructed_predictions():
    counts = {0: 500, 1: 450, 2: 5, 3: 45}  # 50%, 45%, 0.5%, 4.5% of 1000
    preds = torch.cat([torch.full((k,), c) for c, k in counts.items()])
    hist = S.class_histogram(preds)
    assert hist.tolist() == pytest.approx([0.5, 0.45, 0.005, 0.045] + [0.0] * 6)
    expected_kl = sum(p * math.log(10 * p) for p in (0.5, 0.45, 0.005, 0.045))
    assert S.kl_from_uniform(hist) == pytest.approx(expected_kl)
    assert S.classes_covered(hist) == 3            # class 2 (0.5%) is under the 1% threshold
    assert S.classes_covered(hist, threshold=0.001) == 4
    # probabilities give the same histogram through their argmax
    assert torch.equal(S.class_histogram(torch.nn.functional.one_hot(preds, 10).float()), hist)
    assert S.kl_from_uniform(torch.full((10,), 0.1, dtype=torch.float64)) == pytest.approx(0.0, abs=1e-12)
    assert S.kl_from_uniform(S.class_histogram(torch.zeros(50, dtype=torch.long))) == pytest.approx(math.log(10))


# ---------------------------------------------------- label accuracy, fake networks
class PixelClassifier(nn.Module):
    """Reads the class from the first pixel, ((x + 1) * 5 rounded): no training needed."""

    def features(self, x):
        return torch.cat([x[:, :, 0, 0], x.flatten(1)[:, 1:4]], 1)  # (B, 4)

    def head(self, f):
        k = ((f[:, 0] + 1) * 5).round().long().clamp(0, 9)
        return torch.nn.functional.one_hot(k, 10).float() * 50


class LabelPainter(nn.Module):
    """A fake conditional generator: paints the asked label, except 9 becomes 0."""

    z_dim, n_classes = 4, 10

    def forward(self, z, y):
        x = torch.rand(len(z), 1, 28, 28) * 0.1 - 1 + z[:, :1, None, None] * 0.01
        shown = torch.where(y == 9, torch.zeros_like(y), y)
        x[:, 0, 0, 0] = shown.float() / 5 - 1
        return x


def test_label_accuracy_on_fake_conditional_generator():
    G = LabelPainter()
    out = S.evaluate(G, n=1000, batch_size=128, classifier=PixelClassifier(),
                     real_stats=(torch.zeros(4).double(), torch.eye(4).double()))
    assert out["label_accuracy"] == pytest.approx(0.9)   # every 9 is read as 0
    assert out["class_histogram"][0] == pytest.approx(0.2) and out["class_histogram"][9] == 0
    assert out["classes_covered"] == 9
    # one-hot predictions: KL = -log p(y); p(0) = 0.2 for 20% of samples, p(k) = 0.1 for the rest
    assert out["n"] == 1000 and out["is"] == pytest.approx(5 ** 0.2 * 10 ** 0.8)


class LabelIgnorer(nn.Module):
    """A fake conditional generator that ignores its label: the digit it paints comes from z alone."""

    z_dim, n_classes = 4, 10

    def __init__(self, digits=None):
        super().__init__()
        self.digits = digits

    def forward(self, z, y):
        x = torch.full((len(z), 1, 28, 28), -1.0)
        # 1 for z0 < 0.5 (about 69%), 7 for 0.5 <= z0 < 1.5 (about 24%), else 4; or always `digits`
        k = torch.where(z[:, 0] < 0.5, 1, torch.where(z[:, 0] < 1.5, 7, 4)) if self.digits is None \
            else torch.full((len(z),), self.digits)
        x[:, 0, 0, 0] = k.float() / 5 - 1
        return x


@pytest.mark.parametrize("digits", [None, 3])
def test_a_generator_that_ignores_its_labels_scores_chance_whatever_it_draws(digits):
    """The cgan quiz: with every label asked equally often, chance is 10% for any mix of drawn digits."""
    out = S.evaluate(LabelIgnorer(digits), n=5000, batch_size=1000, classifier=PixelClassifier(),
                     real_stats=(torch.zeros(4).double(), torch.eye(4).double()))
    hist = out["class_histogram"]
    if digits is None:   # a skewed mix: far from uniform, yet about one match in ten
        assert hist[1] > 0.6 and hist[7] > 0.2 and 0 < hist[4] < 0.1
        assert out["label_accuracy"] == pytest.approx(0.1, abs=0.015)
    else:                # one digit only: exactly the share of the labels that ask for it
        assert hist[3] == 1.0 and out["label_accuracy"] == pytest.approx(0.1, abs=1e-12)


def test_label_accuracy_direct():
    probs = torch.nn.functional.one_hot(torch.tensor([0, 1, 2, 2]), 10).float()
    assert S.label_accuracy(probs, torch.tensor([0, 1, 2, 3])) == 0.75


def test_sample_is_reproducible_and_leaves_state_alone():
    G = M.DCGANGenerator(z_dim=8, width=4)
    G.train()
    state = torch.get_rng_state()
    a, la = S.sample(G, 10, batch_size=3, seed=5)
    b, _ = S.sample(G, 10, batch_size=10, seed=5)
    assert la is None and a.shape == (10, 1, 28, 28) and torch.allclose(a, b, atol=1e-6)
    assert G.training and torch.equal(state, torch.get_rng_state())
    with pytest.raises(ValueError):
        S.sample(G, 4, labels=torch.zeros(4, dtype=torch.long))


def test_random_shift_translates():
    x = torch.full((1, 1, 28, 28), -1.0)
    x[0, 0, 10, 12] = 1.0
    y = C._random_shift(x.repeat(50, 1, 1, 1), 2, torch.Generator().manual_seed(0))
    pos = [tuple((img[0] == 1).nonzero()[0].tolist()) for img in y]
    assert all(abs(r - 10) <= 2 and abs(c - 12) <= 2 for r, c in pos) and len(set(pos)) > 5
    assert torch.equal(torch.sort(y.flatten(1), dim=1).values, torch.sort(x.repeat(50, 1, 1, 1).flatten(1), dim=1).values)


def test_train_classifier_is_reproducible(fake_data):
    state = torch.get_rng_state()
    runs = [C.train_classifier(epochs=1, batch_size=64, seed=3, train=fake_data, log=lambda s: None)
            for _ in range(2)]
    other, _ = C.train_classifier(epochs=1, batch_size=64, seed=4, train=fake_data, log=lambda s: None)
    (a, facts), (b, _) = runs
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.head[1].weight, other.head[1].weight)
    assert torch.equal(state, torch.get_rng_state()) and not a.training
    assert facts["seed"] == 3 and facts["epochs"] == 1 and facts["train_images"] == 256


def test_export_classifier_card_measures_the_written_file(tmp_path, fake_data):
    model, facts = C.train_classifier(epochs=1, batch_size=64, train=fake_data, log=lambda s: None)
    path = C.export_classifier(model, facts, tmp_path, test=fake_data)
    card = C.classifier_card(path)
    shipped = C.load_classifier(path=path)
    assert card["test_accuracy"] == round(C.accuracy(shipped, fake_data), 4)
    assert card["sha256"] == C.file_sha256(path) and card["file_bytes"] == path.stat().st_size
    assert all(v.dtype == torch.float16 for v in torch.load(path, weights_only=True)["state"].values()
               if v.is_floating_point())
    with pytest.raises(C.ClassifierNotFoundError, match="train-classifier"):
        C.load_classifier(path=tmp_path / "missing.pt")


# --------------------------------------------------- shipped classifier & references
@pytest.fixture(scope="module")
def mnist_test():
    import os

    if not os.environ.get("GANCOURSE_MNIST"):
        pytest.skip("GANCOURSE_MNIST is not set (the CI script sets it)")
    from gancourse.data import load_mnist

    return load_mnist(train=False)


def test_shipped_classifier_card_and_size():
    path = C.WEIGHTS_DIR / C.CLASSIFIER_FILE
    facts = C.classifier_card()
    assert path.stat().st_size < 500_000
    assert facts["sha256"] == C.file_sha256(path) and facts["test_accuracy"] >= 0.99
    model = C.load_classifier()
    assert not model.training and all(p.dtype == torch.float32 for p in model.parameters())
    feats, probs = C.classify(torch.zeros(3, 1, 28, 28), model)
    assert feats.shape == (3, 128) and probs.shape == (3, 10)
    assert torch.allclose(probs.sum(1), torch.ones(3))


def test_shipped_classifier_accuracy(mnist_test):
    acc = C.accuracy(C.load_classifier(), mnist_test)
    assert acc >= 0.99, f"test accuracy {acc:.4f}"


def test_label_accuracy_with_real_digits(mnist_test):
    class RealDigits(nn.Module):
        """Returns a test image of the asked class (a 'perfect' conditional generator)."""
        z_dim, n_classes = 2, 10

        def forward(self, z, y):
            bank = [mnist_test.images[mnist_test.labels == k] for k in range(10)]
            return torch.stack([bank[k][i] for i, k in enumerate(y.tolist())])

    out = S.evaluate(RealDigits(), n=500, batch_size=250)
    assert out["label_accuracy"] >= 0.98 and out["classes_covered"] == 10


def test_fid_of_real_images_is_small(mnist_test):
    real, noise = mnist_test.images[:1000], torch.rand(1000, 1, 28, 28) * 2 - 1
    f_real, f_noise = S.fid(real), S.fid(noise)
    assert f_real < 0.01 * f_noise
    assert S.evaluate(real, splits=5)["fid"] == pytest.approx(f_real)
    sevens = mnist_test.images[mnist_test.labels == 7][:500]
    assert S.fid(sevens, digits=[7]) < 0.05 * S.fid(sevens)   # against the test 7s, not all digits


def test_the_fid_of_real_images_falls_with_n_so_fids_are_compared_at_equal_n(mnist_test):
    """Chapter 02 prints its generator's FID on 2,000 samples beside real images at the same n: the floor
    at 2,000 is about twice the one at 10,000 (the evaluation chapter measures the whole curve)."""
    from gancourse.data import load_mnist

    train = load_mnist(train=True)
    pick = torch.randperm(len(train), generator=torch.Generator().manual_seed(0))
    at = {n: S.fid(train.images[pick[:n]]) for n in (500, 2000, 10000)}
    assert at[500] > at[2000] > 1.5 * at[10000]
    assert 3 < at[2000] < 6 and at[10000] < 3


def test_shipped_reference_values_are_ordered():
    ref = R.reference_values()
    assert ref["classifier_sha256"] == C.file_sha256(C.WEIGHTS_DIR / C.CLASSIFIER_FILE), \
        "reference values are stale: rerun python -m gancourse.metrics reference"
    s = ref["sets"]
    assert s["real"]["fid"] < s["blurred"]["fid"] < s["noise"]["fid"]
    assert s["real"]["fid"] < s["one-digit"]["fid"]
    assert s["real"]["is"] > 9.5 and s["one-digit"]["is"] < 1.5
    assert s["real"]["classes_covered"] == 10 and s["one-digit"]["classes_covered"] == 1
    assert s["real"]["kl_uniform"] < 0.01 < s["one-digit"]["kl_uniform"]


def test_reference_values_recomputed_small(mnist_test):
    from gancourse.data import load_mnist

    ref = R.compute_reference_values(n=1000, train=load_mnist(train=True, subset=12000), test=mnist_test)
    s = ref["sets"]
    assert s["real"]["fid"] < s["blurred"]["fid"] < s["noise"]["fid"]
    assert s["real"]["fid"] < s["one-digit"]["fid"]
    assert s["real"]["is"] > s["blurred"]["is"] and s["one-digit"]["classes_covered"] == 1
    assert ref["n"] == 1000 and "--n 1000" in ref["command"]


# ----------------------------------------------------------------- pretrained loader
@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A 'dcgan-mnist' generator after 2 training steps on noise, exported like the real one."""
    r, G, D = pretrain.build_recipe("dcgan-mnist")
    data = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    trainer = Trainer(G, D, data, TrainConfig(steps=2, batch_size=16, device="cpu"))
    trainer.fit()
    out = tmp_path_factory.mktemp("weights")
    pretrain.export("dcgan-mnist", trainer, out)
    return out, trainer


def test_loader_round_trip(exported):
    folder, trainer = exported
    assert available(folder) == ["dcgan-mnist"]
    G = load("dcgan-mnist", device="cpu", weights_dir=folder)
    assert not G.training and all(p.dtype == torch.float32 for p in G.parameters())
    z = torch.randn(4, G.z_dim, generator=torch.Generator().manual_seed(0))
    expected = trainer.generate(z)
    assert torch.allclose(G(z), expected, atol=2e-2)   # the weights were rounded to fp16
    for (k, a), b in zip(G.state_dict().items(), trainer.G.state_dict().values()):
        assert torch.equal(a, b.half().to(a.dtype)), k
    assert card("dcgan-mnist", folder)["steps"] == 2
    assert pretrained.card("dcgan-mnist", folder)["model"] == "dcgan"


def test_loader_env_var(exported, monkeypatch):
    monkeypatch.setenv("GANCOURSE_WEIGHTS", str(exported[0]))
    assert pretrained.available() == ["dcgan-mnist"]
    assert isinstance(pretrained("dcgan-mnist"), M.DCGANGenerator)


def test_shipped_dcgan_loads_offline():
    """The weights in the package load by both spellings."""
    import gancourse

    assert isinstance(gancourse.pretrained("dcgan-mnist"), M.DCGANGenerator)
    assert isinstance(gancourse.pretrained.load("dcgan-mnist"), M.DCGANGenerator)


@pytest.mark.parametrize("name", sorted(pretrain.RECIPES))
def test_every_recipe_is_shipped_with_its_card(name):
    """Each published generator ships, matches its recipe, says how it was trained, and draws images."""
    r = pretrain.RECIPES[name]
    G = pretrained(name)
    assert isinstance(G, M.MODELS[r["model"]][0]) and not G.training
    c = pretrained.card(name)
    assert c["model"] == r["model"] and c["command"] == f"python -m gancourse.pretrain {name}"
    assert c["steps"] == recipe_steps(name) and c["batch_size"] == r["config"]["batch_size"]
    assert c["device"].startswith(("cpu", "cuda")) and c["train_seconds"] > 0
    assert c.get("digits") == r.get("digits")
    # the card was written by this recipe: its settings, and its discriminator (cards older
    # than the d_kwargs field were all trained against the recipe's)
    assert c.get("d_kwargs", r["d_kwargs"]) == r["d_kwargs"]
    assert {k: c["config"][k] for k in r["config"]} == \
        {k: list(v) if isinstance(v, tuple) else v for k, v in r["config"].items()}
    z = torch.randn(8, G.z_dim, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        x = G(z, torch.arange(8) % G.n_classes) if M.is_conditional(G) else G(z)
    assert x.shape == (8, 1, 28, 28) and x.min() >= -1 and x.max() <= 1 and x.std() > 0.1


def test_evaluate_command_line(exported, mnist_dir, capsys):
    from gancourse.metrics.__main__ import main

    # in-process (the classifier and test statistics are already loaded); --threads 0 keeps torch's setting
    assert main(["evaluate", "dcgan-mnist", "--n", "200", "--threads", "0",
                 "--weights-dir", str(exported[0])]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 200 and len(result["class_histogram"]) == 10 and result["fid"] > 0


def test_loader_errors(tmp_path, exported):
    with pytest.raises(PretrainedNotFoundError, match=r"unknown pretrained generator 'nope'.*dcgan-mnist"):
        load("nope", weights_dir=exported[0])
    with pytest.raises(PretrainedNotFoundError, match=r"not shipped yet.*none yet.*gancourse.pretrain mlp-mnist"):
        load("mlp-mnist", weights_dir=tmp_path)
    with pytest.raises(PretrainedNotFoundError, match="Available: dcgan-mnist"):
        card("cdcgan-mnist", weights_dir=exported[0])


def test_loader_names_a_shape_mismatch(tmp_path, exported):
    saved = torch.load(exported[0] / "dcgan-mnist.pt", weights_only=True)
    saved["g_kwargs"] = {"width": 8}
    torch.save(saved, tmp_path / "dcgan-mnist.pt")
    with pytest.raises(RuntimeError, match="project.weight: checkpoint shape"):
        load("dcgan-mnist", weights_dir=tmp_path)


# -------------------------------------------------------------------- quality report
def test_quality_report(tmp_path, exported, mnist_test):
    from gancourse.report import write_report

    path = write_report(tmp_path / "reports", exported[0], n=500, log=lambda s: None)
    text = path.read_text()
    assert "## dcgan-mnist" in text and "(dcgan-mnist.png)" in text
    assert (tmp_path / "reports" / "dcgan-mnist.png").stat().st_size > 1000
    assert "real (floor)" in text and "not directly comparable" in text
    model_part = text.split("## dcgan-mnist")[1]
    fid_line = next(line for line in model_part.splitlines() if line.startswith("| FID"))
    values = [float(v) for v in fid_line.split("|")[2:-1]]
    ref = R.reference_values()["sets"]
    assert values[1:] == pytest.approx([round(ref[k]["fid"], 2) for k in R.REFERENCE_ORDER], abs=0.006)
    assert values[0] > ref["real"]["fid"]   # 2 steps on noise is far from real digits


def test_quality_report_without_generators(tmp_path):
    from gancourse.report import write_report

    text = write_report(tmp_path, tmp_path / "empty", n=100).read_text()
    assert "No generator weights are shipped yet" in text and "## Reference values" in text


def test_quality_report_of_a_one_digit_generator(tmp_path, exported, mnist_test):
    import shutil

    from gancourse.report import write_report

    folder = tmp_path / "weights"
    shutil.copytree(exported[0], folder)
    facts = json.loads((folder / "dcgan-mnist.json").read_text())
    (folder / "dcgan-mnist.json").write_text(json.dumps({**facts, "digits": [7]}))
    text = write_report(tmp_path / "reports", folder, n=300, log=lambda s: None).read_text()
    assert "real [7] (floor)" in text and "Trained on the digits [7] only" in text
    fid_line = next(line for line in text.split("## dcgan-mnist")[1].splitlines() if line.startswith("| FID"))
    model_fid, floor_fid = (float(v) for v in fid_line.split("|")[2:4])
    assert floor_fid < model_fid


def test_metrics_table_lines_up_columns_and_rows():
    m = {"fid": 12.345, "is": 9.5, "is_std": 0.25, "classes_covered": 9, "kl_uniform": 0.0123,
         "mean_confidence": 0.9876, "class_histogram": [0.05] + [0.95 / 9] * 9}
    text = S.metrics_table({"gen\nn=10": m, "cond": {**m, "label_accuracy": 0.975}}, width=14)
    lines = text.split("\n")
    assert lines[0].split() == ["gen", "cond"] and lines[1].split() == ["n=10"]
    assert len({len(line) for line in lines}) == 1                  # every line 28 + 2 * 14 wide
    assert lines[2].split()[-2:] == ["-", "97.5%"]                   # label accuracy: only the conditional one
    assert "12.35" in lines[3] and "9.50 ± 0.25" in lines[4] and "5.0% / 10.6%" in lines[6]
    assert "label accuracy" not in S.metrics_table({"gen": m})
    assert {len(line) for line in S.metrics_table({"gen": m}, width=13, label_width=27).split("\n")} == {40}
    # A column whose entry is as wide as ``width`` is widened: its header never runs into its neighbour's.
    wide = S.metrics_table({"a long name": m, "real (shipped)": m}, width=11, label_width=27).split("\n")
    assert wide[0].endswith("a long name real (shipped)")
    assert {len(line) for line in wide} == {27 + 13 + 15}  # longest entries "5.0% / 10.6%" and "real (shipped)", + 1
    with pytest.raises(ValueError, match="label_width must be more than 26"):
        S.metrics_table({"gen": m}, label_width=26)
    with pytest.raises(ValueError, match="at least one column"):
        S.metrics_table({})


def test_measured_run_trains_like_an_unmeasured_one(fake_data, tmp_path):
    """pretrain.Measure checkpoints and scores G every k steps and at the last, and leaves the
    training exactly as it would have been (same weights after the same steps)."""
    def run(callbacks):
        torch.manual_seed(0)
        G, D = M.build("dcgan-deep", {"width": 8}, {"width": 8})
        cfg = TrainConfig(steps=3, batch_size=16, seed=0, device="cpu", amp="bf16")
        Trainer(G, D, fake_data, cfg, callbacks=callbacks).fit()
        return G

    plain = run([])
    measured = run([pretrain.Measure(tmp_path, every=2, n=100)])
    for a, b in zip(plain.state_dict().values(), measured.state_dict().values()):
        assert torch.equal(a, b)
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 3]
    assert all(r["n"] == 100 and r["fid"] > 0 and 1 <= r["is"] <= 10 for r in rows)
    assert all(0 <= r["min_class"] <= r["max_class"] <= 1 for r in rows)
    assert sorted(p.name for p in tmp_path.glob("step*.pt")) == ["step2.pt", "step3.pt"]
    # What the model card gets: one row per step, in order, a re-measured step's last row kept
    with open(tmp_path / "metrics.jsonl", "a") as f:
        f.write(json.dumps({**rows[0], "fid": -1.0}) + "\n\n")
    card_rows = pretrain.measured(tmp_path)["measurements"]
    assert [r["step"] for r in card_rows] == [2, 3] and card_rows[0]["fid"] == -1.0 and card_rows[1] == rows[1]
    assert [r["step"] for r in pretrain.measured(tmp_path, upto=2)["measurements"]] == [2]
    assert pretrain.measured(tmp_path / "nowhere") == {}
