"""The project's judged metrics in plain numpy, so the benchmark runs without scikit-learn
and training and benchmark cannot disagree about what a score means."""

from __future__ import annotations

import numpy as np


def macro_recall(labels: np.ndarray, predicted: np.ndarray) -> float:
    """Mean per-class recall over the classes present in ``labels`` (TweetEval sentiment)."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    return float(np.mean([(predicted[labels == c] == c).mean() for c in np.unique(labels)]))


def macro_f1(labels: np.ndarray, predicted: np.ndarray) -> float:
    """Mean F1 of the classes present in either array (TweetEval offensive and hate)."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    scores = []
    for c in np.union1d(labels, predicted):
        tp = np.sum((predicted == c) & (labels == c))
        denom = np.sum(predicted == c) + np.sum(labels == c)
        scores.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(scores))
