"""GAN quality metrics for MNIST, measured with the course's own classifier.

Inception weights cannot be downloaded everywhere the course runs, and digits are
better described by a digit classifier anyway, so the course measures its
generators in the feature space of a small MNIST classifier that ships with the
package (``gancourse/weights/mnist_classifier.pt``, >= 99% test accuracy).

- :mod:`~gancourse.metrics.classifier`: the classifier, its training and loading;
- :mod:`~gancourse.metrics.scores`: FID, MNIST Inception Score, class histogram,
  KL from uniform, covered classes, label accuracy, and :func:`evaluate` (all of them);
- :mod:`~gancourse.metrics.reference`: what real, blurred, one-digit and noise images score.

Command line: ``python -m gancourse.metrics {train-classifier,reference,evaluate}``.
Importing this package loads no weights and no data.
"""
from .classifier import (ClassifierNotFoundError, MNISTClassifier, accuracy, classifier_card, classify,
                         load_classifier, train_classifier)
from .reference import compute_reference_values, reference_values
from .scores import (class_histogram, classes_covered, evaluate, fid, frechet_distance, gaussian_stats,
                     inception_score, kl_from_uniform, label_accuracy, metrics_table, real_statistics, sample)

__all__ = ["ClassifierNotFoundError", "MNISTClassifier", "accuracy", "classifier_card", "classify",
           "load_classifier", "train_classifier", "compute_reference_values", "reference_values",
           "class_histogram", "classes_covered", "evaluate", "fid", "frechet_distance", "gaussian_stats",
           "inception_score", "kl_from_uniform", "label_accuracy", "metrics_table", "real_statistics", "sample"]
