"""The recipes of the published generators: which model, sizes, loss, optimiser settings and seed.

Data only: training them is :mod:`gancourse.pretrain` (``python -m gancourse.pretrain NAME``),
loading the shipped weights :func:`gancourse.pretrained.load`. Kept apart from both so that
the loader can name the published models without importing the training code.
"""
from __future__ import annotations

from . import progressive as P

# name -> recipe. "steps" are generator steps (469 per MNIST epoch at batch 128). An optional
# "digits" key trains on those classes only (default: all ten).
RECIPES = {
    "mlp-mnist": dict(model="mlp", g_kwargs={}, d_kwargs={},
                      config=dict(loss="non-saturating", steps=9380, batch_size=128,
                                  lr_g=2e-4, lr_d=2e-4, seed=0)),
    "dcgan-mnist": dict(model="dcgan", g_kwargs={}, d_kwargs={},
                        # the case study: D's real targets 0.9, fake targets 0, G's targets 1
                        config=dict(loss="non-saturating", steps=9380, batch_size=128,
                                    lr_g=2e-4, lr_d=2e-4, label_smoothing=0.1,
                                    smoothing_mode="one-sided", seed=0)),
    # The case study's settings on a deeper generator (models.DeepDCGANGenerator, the TensorFlow
    # DCGAN tutorial's shape) and a discriminator grown by a third block (4x4x256), with the R1
    # penalty (gamma = 1) on D's gradient at real images, for 25 epochs. The shipped weights are
    # an exponential moving average of G's (decay 0.999, a memory of about 1000 steps, two
    # epochs), started at epoch 10 as a copy of G: the early, fast-changing weights stay out of
    # it. bfloat16 autocast: 1.7 to 1.8 times as fast as float32 on a 2-core CPU. The learning
    # rates are constant, so training on resumes this run exactly.
    "dcgan-mnist-deep": dict(model="dcgan-deep", g_kwargs={}, d_kwargs={"blocks": 3},
                             config=dict(loss="non-saturating", steps=11725, batch_size=128,
                                         lr_g=2e-4, lr_d=2e-4, label_smoothing=0.1,
                                         smoothing_mode="one-sided", r1_gamma=1.0,
                                         ema_decay=0.999, ema_start=4690, amp="bf16", seed=0)),
    "cdcgan-mnist": dict(model="cdcgan", g_kwargs={}, d_kwargs={},
                         config=dict(loss="non-saturating", steps=9380, batch_size=128,
                                     lr_g=2e-4, lr_d=2e-4, label_smoothing=0.1, seed=0)),
    # The StyleGAN chapter: the 6265 training 7s only (98 batches of 64 per epoch). A
    # Wasserstein critic kept in check by R1 instead of weight clipping; Adam with beta1 = 0
    # as in StyleGAN; style-mixing regularisation on half of the samples. 3000 steps are 31
    # epochs of the 7s (clear 7s appear by step 500; this CPU does about 1.3 steps/s).
    "stylegan7-mnist": dict(model="stylegan", digits=[7], g_kwargs={"mixing_prob": 0.5}, d_kwargs={},
                            config=dict(loss="wgan", clip_value=None, r1_gamma=10.0, n_critic=1,
                                        steps=3000, batch_size=64, lr_g=5e-4, lr_d=5e-4,
                                        betas=(0.0, 0.99), seed=0)),
    # The WGAN chapter's final result: WGAN-GP (Gulrajani et al. 2017) with the paper's settings,
    # lambda = 10, five critic steps per generator step, Adam(1e-4, betas (0, 0.9)). The critic
    # is the case-study DCGAN discriminator with layer norm instead of batch norm: the penalty
    # is per sample, and batch norm would couple the samples of a batch.
    "wgangp-mnist": dict(model="dcgan", g_kwargs={}, d_kwargs={"norm": "layer"},
                         config=dict(loss="wgan-gp", gp_weight=10.0, n_critic=5, steps=3000,
                                     batch_size=64, lr_g=1e-4, lr_d=1e-4, betas=(0.0, 0.9), seed=0)),
    # The progressive-growing chapter's final result: 7x7 -> 14x14 -> 28x28 over five phases of
    # "steps_per_phase" generator steps (gancourse.progressive.train_progressive, checkpointed
    # after every phase), with that module's WGAN-GP defaults. Half the default widths: a full-
    # width 28x28 step takes 1.8 s on this CPU with one thread, a half-width one 0.46 s.
    "progressive-mnist": dict(model="progressive", g_kwargs={"channels": (64, 32, 16)},
                              d_kwargs={"channels": (64, 32, 16)}, steps_per_phase=1000,
                              config={**P.DEFAULT_CONFIG, "seed": 0}),
}


def recipe_steps(name: str) -> int:
    """The generator steps a recipe trains for (five phases of ``steps_per_phase`` for growing ones)."""
    r = RECIPES[name]
    if "steps_per_phase" in r:
        return r["steps_per_phase"] * len(P.schedule(1))
    return r["config"]["steps"]
