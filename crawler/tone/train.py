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
from crawler.tone.wordvectors import SOURCE as VECTORS_SOURCE
from crawler.tone.wordvectors import VECTORS_PATH, WordVectors

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "tone"
SEED = 0
TEACHER_PATH = MODEL_PATH.parent / "teacher.npz"  # written by crawler.tone.teach
TEACHER_POOLS = ("sentiment", "hate", "complaint")  # train splits whose tweets it labels
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
    c_grid: tuple[float, ...] = (1.0, 2.0, 4.0)  # 0.5 never won (tone-features-3 runs)
    dense_grid: tuple[bool, ...] = (False, True)  # with the word-vector columns or without
    mix_grid: tuple[float, ...] = (0.0, 0.5)  # yes/no heads: share of NB-LR in the logit blend
    folds: int = 3
    limit: int | None = None  # rows per task (a seeded sample), for quick runs and tests
    teacher: bool = True  # add model/teacher.npz's MiniLM-labelled tweets to the heads it covers
    # with teacher rows every fit is ~4x larger: search only what the plain search chose there
    teacher_grid: tuple[tuple[float, bool], ...] = ((2.0, True),)  # (C, word vectors)


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


def teacher_meta(path: Path = TEACHER_PATH) -> dict | None:
    """What ``teach.py`` recorded in the file (None without it), plus the file's sha256."""
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(npz["meta"].tobytes().decode())
    return {"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), **meta}


def load_teacher(data: Path, limit: int | None = None, path: Path = TEACHER_PATH) -> dict[str, Extra]:
    """Head -> the teacher's tweets and probabilities (``teach.py``); {} without the file.
    The rows index the full train splits; ``limit`` keeps the first rows (quick runs)."""
    meta = teacher_meta(path)
    if meta is None:
        return {}
    full = {t.name: t for t in load_tasks(data)}
    with np.load(path, allow_pickle=False) as npz:
        texts = [full[meta["pools"][k]].texts[i] for k, i in zip(npz["pool"].tolist(), npz["row"].tolist())]
        return {head: Extra(texts[:limit], npz[head].astype(np.float64)[:limit]) for head in meta["heads"]}


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


def _classifier(c: float, balanced: bool = True):
    from sklearn.linear_model import LogisticRegression
    # balanced weights: the judged metrics are macro averages, so rare classes count fully
    # (with teacher rows the sample weights balance instead); lbfgs is deterministic
    # (liblinear shuffles with the global random state)
    return LogisticRegression(C=c, class_weight="balanced" if balanced else None, max_iter=3000, solver="lbfgs")


def nb_ratio(x, labels: np.ndarray, dense: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Naive-Bayes log-count ratio of each feature (Wang & Manning's NBSVM): how much more
    often it occurs in yes texts than in no texts (counting each row by its weight). The
    word-vector columns are not counts: they keep a ratio of 1."""
    present = (x[:, : x.shape[1] - dense] > 0).astype(np.float64)
    weights = np.ones(len(labels)) if weights is None else weights
    yes = 1.0 + np.asarray(present[labels == 1].T @ weights[labels == 1]).ravel()
    no = 1.0 + np.asarray(present[labels == 0].T @ weights[labels == 0]).ravel()
    return np.concatenate([np.log((yes / yes.sum()) / (no / no.sum())), np.ones(dense)])


@dataclass
class Extra:
    """Unlabelled tweets with a teacher's probability of yes (``teacher.npz``)."""

    texts: list[str]
    p: np.ndarray
    x: object = None  # their design matrix, once built


def with_extra(x, labels: np.ndarray, extra: Extra | None):
    """(rows, labels, weights): the gold rows, plus each teacher-labelled text twice, as yes
    with weight p and as no with 1 - p; classes balanced by total weight, as
    class_weight="balanced" does for gold rows alone. Without ``extra``: (x, labels, None)."""
    if extra is None:
        return x, labels, None
    from scipy.sparse import vstack
    rows = vstack([x, extra.x, extra.x], format="csr")
    y = np.concatenate([labels, np.ones(len(extra.p), dtype=int), np.zeros(len(extra.p), dtype=int)])
    w = np.concatenate([np.ones(len(labels)), extra.p, 1.0 - extra.p])
    for cls in (0, 1):
        w[y == cls] *= w.sum() / (2 * w[y == cls].sum())
    return rows, y, w


@dataclass
class Linear:
    """A fitted head as one linear function of the design matrix (what the export ships)."""

    coef: np.ndarray  # (outputs, features); one row for a yes/no head
    intercept: np.ndarray

    def decision_function(self, x) -> np.ndarray:
        return np.asarray(x @ self.coef.T) + self.intercept

    def predict_proba(self, x) -> np.ndarray:
        z = self.decision_function(x)
        if z.shape[1] == 1:
            p = 1.0 / (1.0 + np.exp(-z[:, 0]))
            return np.column_stack([1.0 - p, p])
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


def fit_head(x, labels: np.ndarray, c: float, mix: float, dense: int, extra: Extra | None = None) -> Linear:
    """Logistic regression, or (``mix`` > 0) its logit blend with NB-weighted logistic
    regression. NB-LR fits ``x * r``, so its weights on ``x`` are ``r * w``: the blend stays
    one weight vector over the same features and the export is unchanged."""
    lr = _fit_lr(x, labels, c, extra) if mix < 1 else None
    nb = _fit_nb(x, labels, c, dense, extra) if mix > 0 else None
    if nb is None:
        return lr
    if lr is None:
        return nb
    return Linear((1 - mix) * lr.coef + mix * nb.coef, (1 - mix) * lr.intercept + mix * nb.intercept)


def _fit_lr(x, labels: np.ndarray, c: float, extra: Extra | None = None) -> Linear:
    x, labels, w = with_extra(x, labels, extra)
    clf = _classifier(c, balanced=w is None).fit(x, labels, sample_weight=w)
    return Linear(clf.coef_.copy(), clf.intercept_.copy())


def _fit_nb(x, labels: np.ndarray, c: float, dense: int, extra: Extra | None = None) -> Linear:
    x, labels, w = with_extra(x, labels, extra)
    r = nb_ratio(x, labels, dense, w)
    clf = _classifier(c, balanced=w is None).fit(x.multiply(r).tocsr(), labels, sample_weight=w)
    return Linear(r * clf.coef_, clf.intercept_.copy())


def _fold(x, labels, train, test, c, multiclass, dense, extra):
    """Out-of-fold outputs of one fold: sentiment probabilities, or the LR and NB-LR logits
    (teacher rows, when the head has them, join the training side only)."""
    if multiclass:
        return _fit_lr(x[train], labels[train], c).predict_proba(x[test])
    lr = _fit_lr(x[train], labels[train], c, extra).decision_function(x[test])[:, 0]
    nb = _fit_nb(x[train], labels[train], c, dense, extra).decision_function(x[test])[:, 0]
    return lr, nb


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def select(task: Task, designs: dict[bool, object], dense: int, settings: Settings, log,
           extras: dict[bool, Extra] | None = None) -> tuple[dict, dict]:
    """Pick the configuration (C, word vectors or not, NB blend) and the benchmark and alert
    thresholds by stratified k-fold CV on train only. Returns (chosen, every CV score)."""
    from joblib import Parallel, delayed
    from sklearn.model_selection import StratifiedKFold
    folds = list(StratifiedKFold(settings.folds, shuffle=True, random_state=SEED).split(task.labels, task.labels))
    results: dict[str, dict] = {}
    grid = settings.teacher_grid if extras else [(c, d) for d in settings.dense_grid for c in settings.c_grid]
    for c, use_dense in grid:
        x, width, extra = designs[use_dense], dense if use_dense else 0, (extras or {}).get(use_dense)
        outs = Parallel(n_jobs=-1)(delayed(_fold)(x, task.labels, tr, te, c, task.multiclass, width, extra)
                                   for tr, te in folds)
        if task.multiclass:
            probs = np.zeros((len(task.labels), len(SENTIMENT_LABELS)))
            for (_, te), out in zip(folds, outs):
                probs[te] = out
            key = f"C={c} vectors={use_dense}"
            results[key] = {"C": c, "vectors": use_dense, "mix": 0.0,
                            "macro_recall": macro_recall(task.labels, probs.argmax(1))}
            log(f"  {task.name} {key}: {results[key]['macro_recall']:.4f}")
            continue
        lr, nb = np.zeros(len(task.labels)), np.zeros(len(task.labels))
        for (_, te), (lr_out, nb_out) in zip(folds, outs):
            lr[te], nb[te] = lr_out, nb_out
        for mix in settings.mix_grid:
            probs = _sigmoid((1 - mix) * lr + mix * nb)
            threshold, score = best_threshold(task.labels, probs)
            key = f"C={c} vectors={use_dense} nb_mix={mix}"
            results[key] = {"C": c, "vectors": use_dense, "mix": mix, "macro_f1": score, "threshold": threshold,
                            "alert_threshold": alert_threshold(task.labels, probs, threshold)}
            log(f"  {task.name} {key}: {score:.4f} at {threshold}")
    metric = "macro_recall" if task.multiclass else "macro_f1"
    # ties go to the simpler model: no word vectors, no blend, smaller C
    best = max(results.values(), key=lambda r: (round(r[metric], 6), -r["vectors"], -r["mix"], -r["C"]))
    return best, results


@dataclass
class Trained:
    """What one run produced: the fitted heads over the design matrix (to check the export
    against), how to build that matrix, and the export."""

    vectorizer: object
    wordvectors: WordVectors
    classifiers: dict[str, Linear]
    model: LinearModel
    cv: dict

    def design(self, texts: list[str]):
        """TF-IDF columns then word-vector columns, as the heads were fitted on."""
        return _design(self.vectorizer.transform(texts), self.wordvectors.matrix(texts))


def _design(tfidf, dense: np.ndarray):
    from scipy.sparse import csr_matrix, hstack
    return hstack([tfidf, csr_matrix(dense)], format="csr")


def fit(tasks: list[Task], settings: Settings, log=lambda _msg: None,
        wordvectors: WordVectors | None = None, chosen: dict[str, dict] | None = None,
        teacher: dict[str, Extra] | None = None) -> Trained:
    """Fit every head; ``chosen`` (task -> C, vectors, mix) skips the cross-validated search,
    for refitting the shipped choices on part of the data (``crawler.tone.blend``);
    ``teacher`` adds soft-labelled rows to the heads it names (``load_teacher``)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    wordvectors = wordvectors or WordVectors.load(VECTORS_PATH)
    vectorizer = TfidfVectorizer(analyzer=analyze, sublinear_tf=True, min_df=settings.min_df,
                                 max_features=settings.max_features, dtype=np.float64)
    vectorizer.fit([t for task in tasks for t in task.texts])
    log(f"vocabulary: {len(vectorizer.vocabulary_)} features; word vectors: {len(wordvectors.vocabulary)} "
        f"x {wordvectors.dims}")
    vocabulary = [None] * len(vectorizer.vocabulary_)
    for feature, i in vectorizer.vocabulary_.items():
        vocabulary[i] = feature
    n_sparse, dense = len(vocabulary), wordvectors.dims
    columns, intercepts, heads, classifiers, cv = [], [], [], {}, {}
    for task in tasks:
        tfidf = vectorizer.transform(task.texts)
        designs = {False: tfidf, True: _design(tfidf, wordvectors.matrix(task.texts))}
        extras = None
        if task.name in (teacher or {}):
            extra = teacher[task.name]
            extra_tfidf = vectorizer.transform(extra.texts)
            extras = {False: Extra(extra.texts, extra.p, extra_tfidf),
                      True: Extra(extra.texts, extra.p, _design(extra_tfidf, wordvectors.matrix(extra.texts)))}
            log(f"  {task.name}: + {len(extra.texts):,} teacher-labelled tweets")
        best, by_config = (chosen[task.name], {}) if chosen else select(task, designs, dense, settings, log, extras)
        use_dense = best["vectors"]
        head = fit_head(designs[use_dense], task.labels, best["C"], best["mix"], dense if use_dense else 0,
                        (extras or {}).get(use_dense))
        coef = head.coef if use_dense else np.hstack([head.coef, np.zeros((len(head.coef), dense))])
        classifiers[task.name] = Linear(coef, head.intercept)
        start = len(columns)
        threshold, alert = best.get("threshold"), best.get("alert_threshold")
        columns += list(coef)
        intercepts += list(head.intercept)
        if task.multiclass:
            heads.append(Head(task.name, tuple(range(start, len(columns))), SENTIMENT_LABELS, None, None))
        else:
            heads.append(Head(task.name, (start,), (task.name,), threshold, alert))
        cv[task.name] = {"chosen": {k: best[k] for k in ("C", "vectors", "mix")}, "threshold": threshold,
                         "alert_threshold": alert, "by_config": by_config}
    weights = np.array(columns).T
    model = LinearModel(vocabulary, vectorizer.idf_, weights[:n_sparse], np.array(intercepts), heads,
                        {"trained_on": {t.name: len(t.texts) for t in tasks}}, weights[n_sparse:], wordvectors)
    return Trained(vectorizer, wordvectors, classifiers, model, cv)


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
                     "negated words, char 2-5grams within words; British spellings folded to American; "
                     "plus (where CV chose it) a static word-vector embedding: Zipf-weighted mean of the "
                     "non-negated words' vectors, l2-normalised",
                     "word_vectors": {"file": VECTORS_PATH.name, "sha256": trained.wordvectors.sha256(),
                                      "size_bytes": VECTORS_PATH.stat().st_size,
                                      "words": len(trained.wordvectors.vocabulary), "dims": trained.wordvectors.dims,
                                      **VECTORS_SOURCE, "licence": "Apache-2.0 (all-MiniLM-L6-v2)",
                                      "built_by": "python -m crawler.tone.wordvectors (words from the train "
                                                  "splits only)"}},
        "settings": {"max_features": settings.max_features, "min_df": settings.min_df,
                     "c_grid": list(settings.c_grid), "vectors_grid": list(settings.dense_grid),
                     "nb_mix_grid": list(settings.mix_grid), "folds": settings.folds, "limit": settings.limit,
                     "classifier": "LogisticRegression(class_weight=balanced); yes/no heads optionally "
                                   "logit-blended with NB-weighted LogisticRegression (NBSVM-style)",
                     "teacher": settings.teacher, "teacher_grid": [list(g) for g in settings.teacher_grid],
                     "seed": SEED},
        "teacher": (teacher_meta() if settings.teacher else None),
        "teacher_use": "each teacher-labelled tweet joins the taught head's training (never its CV test "
                       "folds) twice: as yes with weight p, as no with 1 - p; classes balanced by weight",
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
    teacher = load_teacher(args.data, settings.limit) if settings.teacher else {}
    trained = fit(tasks, settings, log, teacher=teacher)
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
