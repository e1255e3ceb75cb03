"""Rebuild the shipped tone model from the labelled data, deterministically.

    python -m crawler.tone.train [DATA_DIR] [--out crawler/tone/model]

DATA_DIR defaults to ../shared/data/tone beside the repository. Needs scikit-learn (a dev
dependency); the model it writes does not. Hyper-parameters and yes/no thresholds are chosen
by cross-validation on the train splits only; the val splits are scored once, at the end,
and reported in PROVENANCE.json.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import platform
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from crawler.tone.features import FEATURES_VERSION, analyze
from crawler.tone.metrics import macro_f1, macro_recall
from crawler.tone.model import MODEL_PATH, Head, LinearModel

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "tone"
SEED = 0
SENTIMENT_LABELS = ("negative", "neutral", "positive")
ALERT_PRECISION = 0.75

# Which data trained what, and under which terms (the shipped weights derive from these).
SOURCES = {
    "sentiment": {"folder": "sentiment", "what": "SemEval-2013..2016 Task 4A tweets (TweetEval sentiment pool)",
                  "source": "rsd16/SemEval2017-Task-4-Subtask-A-Classification-Sentiment-Analysis 68bb1f6; "
                            "val: cardiffnlp/tweeteval 4fbd22c",
                  "licence": "SemEval research data; Twitter terms"},
    "offensive": {"folder": "offensive", "what": "TweetEval offensive (OLID subtask A)",
                  "source": "cardiffnlp/tweeteval 4fbd22c", "licence": "research data; Twitter terms"},
    "hate": {"folder": "hate", "what": "TweetEval hate (HatEval English: immigrants, women)",
             "source": "cardiffnlp/tweeteval 4fbd22c", "licence": "research data; Twitter terms"},
    "complaint": {"folder": "complaints", "what": "Preotiuc-Pietro et al. 2019 complaints (80% share)",
                  "source": "danielpreotiuc/complaints-social-media 54e3402",
                  "licence": "none stated: research use"},
}
NOT_USED = {
    "davidson2017": "MIT; not used: its offensive/hate labels follow a different scheme from OLID/HatEval",
    "ethos": "GPL-3.0; not used: weights derived from it would carry GPL terms into an MIT package",
}


@dataclass(frozen=True)
class Settings:
    """Knobs of one training run; the defaults build the shipped model."""

    max_features: int = 150_000
    min_df: int = 2
    c_grid: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
    folds: int = 3
    limit: int | None = None  # rows per task (a seeded sample), for quick runs and tests


@dataclass
class Task:
    name: str
    texts: list[str]
    labels: np.ndarray
    val_texts: list[str] = field(default_factory=list)
    val_labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))

    @property
    def multiclass(self) -> bool:
        return self.name == "sentiment"


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:-1]


def _tweeteval(data: Path, name: str) -> Task:
    folder = data / SOURCES[name]["folder"]
    texts, labels = _lines(folder / "train_text.txt"), _lines(folder / "train_labels.txt")
    val_texts, val_labels = _lines(folder / "val_text.txt"), _lines(folder / "val_labels.txt")
    assert len(texts) == len(labels) and len(val_texts) == len(val_labels), folder
    return Task(name, texts, np.array(labels, dtype=int), val_texts, np.array(val_labels, dtype=int))


def _complaints(data: Path) -> Task:
    with open(data / "complaints" / "train.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return Task("complaint", [r["text"] for r in rows], np.array([int(r["label"]) for r in rows]))


def load_tasks(data: Path, limit: int | None = None) -> list[Task]:
    """The four supervised tasks; ``limit`` keeps a seeded sample of each train split."""
    tasks = [_tweeteval(data, "sentiment"), _tweeteval(data, "offensive"), _tweeteval(data, "hate"),
             _complaints(data)]
    if limit:
        rng = np.random.default_rng(SEED)
        for task in tasks:
            keep = np.sort(rng.permutation(len(task.texts))[:limit])
            task.texts = [task.texts[i] for i in keep]
            task.labels = task.labels[keep]
    return tasks


def best_threshold(labels: np.ndarray, probs: np.ndarray) -> tuple[float, float]:
    """Threshold on out-of-fold probabilities that maximises macro-F1: (threshold, score)."""
    grid = np.round(np.arange(0.05, 0.951, 0.01), 2)
    scores = [macro_f1(labels, (probs >= t).astype(int)) for t in grid]
    best = int(np.argmax(scores))
    return float(grid[best]), float(scores[best])


def alert_threshold(labels: np.ndarray, probs: np.ndarray, floor: float) -> float:
    """Lowest threshold (not below ``floor``) whose out-of-fold precision reaches ALERT_PRECISION.

    The macro-F1 threshold suits the benchmark's balanced tweets; an SLT reading alerts on
    ordinary school posts needs most alerts to be right, so concerns fire at this one."""
    for t in np.round(np.arange(floor, 0.951, 0.01), 2):
        fired = probs >= t
        if fired.any() and labels[fired].mean() >= ALERT_PRECISION:
            return float(t)
    return 0.95


def _classifier(c: float):
    from sklearn.linear_model import LogisticRegression
    # balanced weights: the judged metrics are macro averages, so rare classes count fully;
    # lbfgs is deterministic (liblinear shuffles with the global random state)
    return LogisticRegression(C=c, class_weight="balanced", max_iter=3000, solver="lbfgs")


def select(task: Task, x, settings: Settings, log) -> tuple[float, float | None, float | None, dict]:
    """Pick C (and the benchmark and alert thresholds) by stratified k-fold CV on train only."""
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    folds = StratifiedKFold(settings.folds, shuffle=True, random_state=SEED)
    results: dict[str, dict] = {}
    for c in settings.c_grid:
        if task.multiclass:
            probs = cross_val_predict(_classifier(c), x, task.labels, cv=folds, method="predict_proba", n_jobs=-1)
            results[str(c)] = {"macro_recall": macro_recall(task.labels, probs.argmax(1))}
        else:
            probs = cross_val_predict(_classifier(c), x, task.labels, cv=folds, method="predict_proba", n_jobs=-1)[:, 1]
            threshold, score = best_threshold(task.labels, probs)
            alert = alert_threshold(task.labels, probs, threshold)
            results[str(c)] = {"macro_f1": score, "threshold": threshold, "alert_threshold": alert}
        log(f"  {task.name} C={c}: {results[str(c)]}")
    metric = "macro_recall" if task.multiclass else "macro_f1"
    best_c = max(settings.c_grid, key=lambda c: (results[str(c)][metric], -c))
    best = results[str(best_c)]
    return best_c, best.get("threshold"), best.get("alert_threshold"), results


@dataclass
class Trained:
    """What one run produced: the sklearn objects (to check the export against) and the export."""

    vectorizer: object
    classifiers: dict[str, object]
    model: LinearModel
    cv: dict


def fit(tasks: list[Task], settings: Settings, log=lambda _msg: None) -> Trained:
    from sklearn.feature_extraction.text import TfidfVectorizer
    vectorizer = TfidfVectorizer(analyzer=analyze, sublinear_tf=True, min_df=settings.min_df,
                                 max_features=settings.max_features, dtype=np.float64)
    vectorizer.fit([t for task in tasks for t in task.texts])
    log(f"vocabulary: {len(vectorizer.vocabulary_)} features")
    vocabulary = [None] * len(vectorizer.vocabulary_)
    for feature, i in vectorizer.vocabulary_.items():
        vocabulary[i] = feature
    columns, intercepts, heads, classifiers, cv = [], [], [], {}, {}
    for task in tasks:
        x = vectorizer.transform(task.texts)
        c, threshold, alert, cv[task.name] = select(task, x, settings, log)
        clf = _classifier(c).fit(x, task.labels)
        classifiers[task.name] = clf
        start = len(columns)
        if task.multiclass:
            columns += list(clf.coef_)
            intercepts += list(clf.intercept_)
            heads.append(Head(task.name, tuple(range(start, len(columns))), SENTIMENT_LABELS, None, None))
        else:
            columns.append(clf.coef_[0])
            intercepts.append(clf.intercept_[0])
            heads.append(Head(task.name, (start,), (task.name,), threshold, alert))
        cv[task.name] = {"chosen_C": c, "threshold": threshold, "alert_threshold": alert, "by_C": cv[task.name]}
    model = LinearModel(vocabulary, vectorizer.idf_, np.array(columns).T, np.array(intercepts), heads,
                        {"trained_on": {t.name: len(t.texts) for t in tasks}})
    return Trained(vectorizer, classifiers, model, cv)


def evaluate(model: LinearModel, tasks: list[Task]) -> dict[str, float]:
    """The project's judged metrics on the val splits, scored with the shipped (exported) model."""
    out = {}
    for task in tasks:
        if not task.val_texts:
            continue
        decisions = np.array([model.decision(model.vector(t)) for t in task.val_texts])
        head = model.heads[task.name]
        if head.threshold is None:
            out[f"{task.name}_macro_recall"] = macro_recall(task.val_labels, decisions[:, list(head.columns)].argmax(1))
        else:
            probs = 1 / (1 + np.exp(-decisions[:, head.columns[0]]))
            out[f"{task.name}_macro_f1"] = macro_f1(task.val_labels, (probs >= head.threshold).astype(int))
    return out


def provenance(trained: Trained, tasks: list[Task], settings: Settings, model_path: Path, val: dict) -> dict:
    import sklearn
    return {
        "model_file": model_path.name,
        "sha256": hashlib.sha256(model_path.read_bytes()).hexdigest(),
        "size_bytes": model_path.stat().st_size,
        "built": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "command": "python -m crawler.tone.train",
        "features": {"version": FEATURES_VERSION, "scheme": "TF-IDF (sublinear tf, l2) over word 1-2grams, "
                     "negated words, char 2-5grams within words; British spellings folded to American"},
        "settings": {"max_features": settings.max_features, "min_df": settings.min_df,
                     "c_grid": list(settings.c_grid), "folds": settings.folds, "limit": settings.limit,
                     "classifier": "LogisticRegression(class_weight=balanced)", "seed": SEED},
        "datasets": {t.name: {**SOURCES[t.name], "train_rows": len(t.texts), "val_rows": len(t.val_texts),
                              "trained_head": t.name} for t in tasks},
        "datasets_not_used": NOT_USED,
        "vocabulary_fitted_on": "union of the four train splits above (no val text)",
        "model_selection": trained.cv,
        "val_used_for_selection": False,
        "alert_precision_target": ALERT_PRECISION,
        "val_metrics": val,
        "versions": {"python": platform.python_version(), "numpy": np.__version__,
                     "scikit-learn": sklearn.__version__},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawler.tone.train", description=__doc__.split("\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=MODEL_PATH.parent)
    parser.add_argument("--limit", type=int, default=None, help="rows per task (quick runs)")
    args = parser.parse_args(argv)
    settings = Settings(limit=args.limit)
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    tasks = load_tasks(args.data, settings.limit)
    trained = fit(tasks, settings, log)
    path = args.out / MODEL_PATH.name
    trained.model.save(path)
    val = evaluate(LinearModel.load(path), tasks)
    log(f"val: {val}")
    record = provenance(trained, tasks, settings, path, val)
    (args.out / "PROVENANCE.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {path} ({record['size_bytes']} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
