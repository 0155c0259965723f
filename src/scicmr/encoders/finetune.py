"""CARDL's domain fine-tuning of the sentence encoder (seed paper 000, section 2).

Wang, Liang, Kou, Xu, "Cross-Media Scientific Research Achievements Retrieval Based on Deep
Language Model", section 2 and Figure 1: the titles of papers and the sentences of their
abstracts go through BERT, the pooled vectors X and Y are joined as (X, Y, |X − Y|, max(X, Y))
and trained jointly on "does this sentence belong to this title", adjusting the last two hidden
layers of BERT to the corpus. This module does that to a sentence-transformers model (the
bundled all-MiniLM-L6-v2 by default) and then serves the fine-tuned pooled embeddings as a text
encoder, which CARDL's text tower consumes.

Readings chosen where the paper is silent:

- Pairs. A positive is (anchor, sentence) with the anchor a paper's title and the sentence one
  of its own abstract (:func:`split_sentences`); callers may also pass a figure caption as the
  anchor and its citing context as the body. Each positive brings ``negatives_per_positive``
  negatives: the same anchor with a sentence of another paper, from a paper sharing no label
  with it when labels are known (the paper takes negatives "from papers in different fields"),
  else from any other paper. Papers are told apart by ``groups`` (default: the title text, so
  records of one paper never serve as each other's negatives).
- Objective. u, v are the model's own sentence embeddings (for MiniLM: mean pooling, then its
  Normalize module, so unit vectors). A linear classifier on the (n, 4d) features
  (u, v, |u − v|, max(u, v)) (:func:`pair_features`) gives two logits, trained with
  cross-entropy against 1 = same paper, 0 = other paper. The classifier is discarded for
  encoding (kept in the saved state for inspection and exact reload).
- Trainable part. Only the last ``trainable_layers`` (2) transformer blocks and the classifier
  get gradients; embeddings and the lower blocks are frozen (``requires_grad=False``) and stay
  bit-identical. The whole model runs in train mode (dropout on), as in ordinary fine-tuning.
- Optimiser. AdamW (weight decay 0.01), linear warm-up over the first 10 % of steps, then
  linear decay to 0 — the usual BERT fine-tuning schedule.
- The classifier head. It is new and reads unit-length features (entries ~0.05): from a random
  start it barely moves in the few dozen steps a small corpus gives (demo corpus, 36 steps:
  loss 0.689 / accuracy 0.55 at the blocks' lr 5e-5, 0.672 / 0.62 at 1e-3), so the blocks'
  gradients carry little signal. Hence ``probe_head`` (default on), LP-FT (Kumar et al., ICLR
  2022): the unique texts are embedded once with the frozen model and the classifier is fitted
  on those features (full-batch AdamW, 200 steps) before the joint fine-tuning, where it keeps
  its own ``classifier_lr`` (1e-3) and the pretrained blocks the small ``lr``.
- Seeding. Pair sampling and shuffling use numpy ``default_rng(seed)``; classifier init and
  dropout use torch's RNG seeded inside ``fork_rng``, so fitting leaves the caller's RNG alone.

How callers provide the pairs:

- ``fit(items)`` (what ``scicmr.workflow.encode`` calls with the train split's record texts)
  reads each item as ``"title\\nbody"``: the first non-empty line is the anchor, the rest the
  body. Record.full_text() has exactly that shape (title, caption, keywords).
- ``fit_pairs(titles, bodies, labels=None, groups=None)`` takes explicit pairs, e.g. from
  :func:`pairs_from_records`, which gives one (title, abstract) per paper (falling back to the
  captions when there is no abstract), (caption, context) pairs, labels and groups.

Persistence: only the trainable tensors and the classifier are saved (``finetuned.pt``) with
the training history; the frozen base comes from the package (or ``path``) again on load, and
``config.json`` names the base model's fingerprint, so a different base is refused.
"""

from __future__ import annotations

import importlib.metadata
import io
import math
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from scicmr._io import atomic_write_bytes, atomic_write_json, read_json
from scicmr._progress import progress
from scicmr.encoders.base import Encoder, fingerprint, path_fingerprint
from scicmr.encoders.finetune_pairs import (  # noqa: F401  (re-exported: they were defined here)
    PairUnit,
    build_units,
    pairs_from_records,
    split_sentences,
)
from scicmr.encoders.sentence import MINILM_DIM, MINILM_PACKAGE, load_sentence_transformer, minilm_path
from scicmr.errors import InputError, LibraryError

_WEIGHTS_FILE = "finetuned.pt"
_HISTORY_FILE = "finetune_history.json"
_CLASSIFIER_PREFIX = "classifier."
_WARMUP_FRACTION = 0.1
_WEIGHT_DECAY = 0.01
_PROBE_LR, _PROBE_STEPS, _PROBE_BATCH = 1e-2, 200, 64  # linear probe: full-batch AdamW on frozen features
# Where transformers keeps the block list in common encoder architectures (BERT, RoBERTa,
# MPNet: encoder.layer; DistilBERT: transformer.layer; others: layers).
_LAYER_PATHS = ("encoder.layer", "transformer.layer", "encoder.layers", "layers", "layer")

# ---------------------------------------------------------------------------- objective
def pair_features(u, v):
    """The paper's joint features (u, v, |u − v|, max(u, v)): (n, d), (n, d) -> (n, 4d)."""
    import torch

    return torch.cat([u, v, torch.abs(u - v), torch.maximum(u, v)], dim=1)


def transformer_blocks(auto_model):
    """The ModuleList of transformer blocks of a Hugging Face encoder (BERT: encoder.layer)."""
    from torch import nn

    for path in _LAYER_PATHS:
        module = auto_model
        for part in path.split("."):
            module = getattr(module, part, None)
        if isinstance(module, nn.ModuleList) and len(module):
            return module
    raise InputError(
        f"cannot find the transformer blocks of {type(auto_model).__name__}",
        fix=f"use a BERT-like model whose blocks sit at one of: {', '.join(_LAYER_PATHS)}",
    )


def _embedding_dim(model) -> int:
    # sentence-transformers 6 renamed get_sentence_embedding_dimension; accept both spellings.
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(getter())


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")


# ---------------------------------------------------------------------------- the encoder
class FinetunedSentenceEncoder(Encoder):
    """A sentence-transformer fine-tuned on title ↔ abstract-sentence pairs: text -> (dim,) float32
    (384 for MiniLM), unit length by default.

    Args:
        path: base sentence-transformers folder; None for the bundled all-MiniLM-L6-v2.
        epochs: passes over the pairs (1–3 is typical).
        lr: AdamW peak learning rate of the transformer blocks (2e-5 .. 1e-4 is typical).
        classifier_lr: peak learning rate of the new classifier (see the module notes).
        batch_size: positive pairs per step (each with its negatives).
        max_pairs: at most this many positive pairs (a seeded sample) per fit.
        negatives_per_positive: negatives drawn for each positive.
        trainable_layers: how many of the last transformer blocks are trained (the paper: 2).
        probe_head: fit the classifier on frozen embeddings before fine-tuning (LP-FT).
        max_seq_length: tokens kept per text, in training and encoding.
        normalize: L2-normalise the output embeddings.
        seed: seeds pair sampling, shuffling, classifier init and dropout.

    Use: ``enc.fit(texts)`` with "title\\nbody" texts, or
    ``enc.fit_pairs(*pairs_from_records(train_records))``; then ``enc.encode(texts)``.
    """

    modality = "text"
    fittable = True

    def __init__(
        self,
        path: str | None = None,
        epochs: int = 1,
        lr: float = 5e-5,
        classifier_lr: float = 1e-3,
        batch_size: int = 16,
        max_pairs: int = 1000,
        negatives_per_positive: int = 1,
        trainable_layers: int = 2,
        probe_head: bool = True,
        max_seq_length: int = 128,
        normalize: bool = True,
        seed: int = 0,
    ):
        if path is not None:
            if not Path(path).is_dir():
                raise InputError(
                    f"sentence-transformers model folder {path!r} does not exist",
                    fix="pass the folder that holds modules.json and the model weights, or None for MiniLM",
                )
            path = str(Path(path).resolve())
        integers = {"epochs": (epochs, 1), "batch_size": (batch_size, 1), "max_pairs": (max_pairs, 1),
                    "negatives_per_positive": (negatives_per_positive, 1), "trainable_layers": (trainable_layers, 1),
                    "max_seq_length": (max_seq_length, 8), "seed": (seed, 0)}
        for name, (value, minimum) in integers.items():
            _check_int(name, value, minimum)
        for name, value in (("lr", lr), ("classifier_lr", classifier_lr)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
                raise InputError(f"{name} must be a number in (0, 1), got {value!r}",
                                 fix="e.g. lr=5e-5, classifier_lr=1e-3")
        self.path = path
        self.epochs = int(epochs)
        self.lr = float(lr)
        self.classifier_lr = float(classifier_lr)
        self.batch_size = int(batch_size)
        self.max_pairs = int(max_pairs)
        self.negatives_per_positive = int(negatives_per_positive)
        self.trainable_layers = int(trainable_layers)
        self.probe_head = bool(probe_head)
        self.max_seq_length = int(max_seq_length)
        self.normalize = bool(normalize)
        self.seed = int(seed)
        self.name = "minilm-finetuned" if path is None else "sentence-transformer-finetuned"
        self._model = None

    def _identity(self) -> dict[str, Any]:
        if self.path is None:
            return {"model": f"{MINILM_PACKAGE}=={importlib.metadata.version(MINILM_PACKAGE)}"}
        return {"model": path_fingerprint(self.path)}

    # -- the model
    def _base_model(self):
        """A fresh copy of the base model, truncating at ``max_seq_length``, with only the last
        ``trainable_layers`` blocks requiring gradients. Returns (model, trainable names)."""
        model = load_sentence_transformer(self.path or minilm_path())
        limit = model.max_seq_length
        model.max_seq_length = min(self.max_seq_length, limit) if limit else self.max_seq_length
        blocks = transformer_blocks(getattr(model[0], "auto_model", None) or model[0].model)
        if self.trainable_layers > len(blocks):
            raise InputError(
                f"trainable_layers={self.trainable_layers} but the model has {len(blocks)} transformer blocks",
                fix=f"use trainable_layers <= {len(blocks)}",
            )
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        for block in blocks[len(blocks) - self.trainable_layers :]:
            for parameter in block.parameters():
                parameter.requires_grad_(True)
        names = [n for n, p in model.named_parameters() if p.requires_grad]
        return model, names

    def _dim(self) -> int:
        if self.path is None and self._model is None:
            return MINILM_DIM  # known without loading the model
        if self._model is None:
            self._model, _ = self._base_model()
        return _embedding_dim(self._model)

    def _encode_batch(self, batch: list[str]) -> np.ndarray:
        return self._model.encode(
            batch,
            batch_size=len(batch),
            convert_to_numpy=True,
            normalize_embeddings=self.normalize,
            show_progress_bar=False,
        )

    # -- fitting
    def _fit(self, items: list[str]) -> None:
        titles, bodies = [], []
        for item in items:
            lines = [line for line in item.split("\n") if line.strip()]
            if len(lines) >= 2:
                titles.append(lines[0])
                bodies.append("\n".join(lines[1:]))
        if not titles:
            raise InputError(
                f"none of the {len(items)} texts has a title line and a body",
                fix="give texts as 'title\\nbody', or call fit_pairs(titles, bodies)",
            )
        self._train(titles, bodies, None, titles)

    def fit_pairs(
        self,
        titles: Sequence[str],
        bodies: Sequence[str],
        labels: Sequence[Sequence[str]] | None = None,
        groups: Sequence[str] | None = None,
    ) -> "FinetunedSentenceEncoder":
        """Fine-tune on explicit pairs (train split only); returns self.

        Args:
            titles: n anchors (paper titles, or captions).
            bodies: n texts whose sentences are the anchors' positives (abstracts, contexts).
            labels: n label lists (fields); negatives come from papers sharing no label.
            groups: n paper ids; negatives never come from the anchor's own group
                (default: the title text).
        """
        titles, bodies = list(titles), list(bodies)
        groups = list(groups) if groups is not None else list(titles)
        sizes = {len(titles), len(bodies), len(groups)} | ({len(labels)} if labels is not None else set())
        if len(sizes) != 1:
            raise InputError("titles, bodies, labels and groups must have the same length",
                             fix="pass one entry per paper")
        if not all(isinstance(t, str) for t in titles + bodies):
            raise InputError("titles and bodies must be strings", fix="use '' for a missing text")
        labels = [list(x) for x in labels] if labels is not None else None
        self._train(titles, bodies, labels, [str(g) for g in groups])
        self.fitted_ = True
        return self

    def _train(self, titles, bodies, labels, groups) -> None:
        import torch

        rng = np.random.default_rng(self.seed)
        units = build_units(titles, bodies, labels, groups, max_pairs=self.max_pairs,
                            negatives_per_positive=self.negatives_per_positive, rng=rng)
        model, names = self._base_model()
        started = time.perf_counter()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            classifier = torch.nn.Linear(4 * _embedding_dim(model), 2)
            probe = self._probe_head(model, classifier, units) if self.probe_head else {}
            history = self._run_epochs(model, classifier, units, rng)
        model.eval()
        self._model = model
        self.trainable_names_ = names
        self.classifier_ = classifier.eval()
        self.history_ = {**history, **probe, "pairs": len(units), "seconds": time.perf_counter() - started}

    def _pair_targets(self, n_units: int):
        """(n_units * (1 + k),) int64: 1 for each unit's positive row, 0 for its negatives."""
        import torch

        return torch.tensor([1] + [0] * self.negatives_per_positive).repeat(n_units)

    def _probe_head(self, model, classifier, units: list[PairUnit]) -> dict[str, float]:
        """LP-FT's linear probe: fit the classifier on frozen, eval-mode embeddings first, so the
        blocks get informative gradients from the first fine-tuning step (full batch, AdamW)."""
        import torch
        import torch.nn.functional as F

        texts = sorted({u.anchor for u in units} | {s for u in units for s in u.sentences})
        model.eval()
        with torch.no_grad():
            chunks = [self._embed(model, texts[i : i + _PROBE_BATCH]) for i in range(0, len(texts), _PROBE_BATCH)]
        embeddings, row = torch.cat(chunks), {t: i for i, t in enumerate(texts)}
        anchors = torch.tensor([row[u.anchor] for u in units for _ in u.sentences])
        sentences = torch.tensor([row[s] for u in units for s in u.sentences])
        features = pair_features(embeddings[anchors], embeddings[sentences])  # (n_rows, 4d)
        target = self._pair_targets(len(units))
        optimiser = torch.optim.AdamW(classifier.parameters(), lr=_PROBE_LR, weight_decay=_WEIGHT_DECAY)
        for _ in range(_PROBE_STEPS):
            loss = F.cross_entropy(classifier(features), target)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
        with torch.no_grad():
            logits = classifier(features)
        return {"probe_loss": float(F.cross_entropy(logits, target)),
                "probe_accuracy": float((logits.argmax(dim=1) == target).float().mean())}

    def _run_epochs(self, model, classifier, units: list[PairUnit], rng: np.random.Generator) -> dict[str, list]:
        import torch

        groups = [
            {"params": [p for p in model.parameters() if p.requires_grad], "lr": self.lr},
            {"params": list(classifier.parameters()), "lr": self.classifier_lr},
        ]
        optimiser = torch.optim.AdamW(groups, weight_decay=_WEIGHT_DECAY)
        per_epoch = math.ceil(len(units) / self.batch_size)
        total = per_epoch * self.epochs
        warmup = max(1, int(_WARMUP_FRACTION * total))
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup)))
        )
        model.train()
        classifier.train()
        history: dict[str, list] = {"loss": [], "accuracy": [], "step_loss": []}
        for epoch in range(self.epochs):
            order = rng.permutation(len(units))
            losses, hits, count = [], 0, 0
            starts = range(0, len(units), self.batch_size)
            for start in progress(starts, total=per_epoch, desc=f"fine-tune epoch {epoch + 1}", unit="batch"):
                batch = [units[k] for k in order[start : start + self.batch_size]]
                loss, correct, n = self._step(model, classifier, batch)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                schedule.step()
                losses.append(float(loss.detach()))
                hits, count = hits + correct, count + n
            history["loss"].append(float(np.mean(losses)))
            history["accuracy"].append(hits / count)
            history["step_loss"].extend(losses)
        return history

    def _step(self, model, classifier, batch: list[PairUnit]):
        """Cross-entropy of the classifier over (anchor, sentence) rows: positive first per unit."""
        import torch
        import torch.nn.functional as F

        u = self._embed(model, [unit.anchor for unit in batch])  # (B, d)
        v = self._embed(model, [s for unit in batch for s in unit.sentences])  # (B * (1 + k), d)
        per_unit = 1 + self.negatives_per_positive
        target = self._pair_targets(len(batch))
        logits = classifier(pair_features(u.repeat_interleave(per_unit, dim=0), v))
        loss = F.cross_entropy(logits, target)
        correct = int((logits.argmax(dim=1) == target).sum())
        return loss, correct, len(target)

    @staticmethod
    def _embed(model, texts: list[str]):
        """(n, d) pooled sentence embeddings with gradients flowing into the trainable blocks."""
        features = model.preprocess(texts)
        return model(features)["sentence_embedding"]

    # -- persistence
    def _state_tensors(self) -> dict[str, Any]:
        """{name: tensor} of everything fitting changed: trainable blocks and the classifier."""
        params = dict(self._model.named_parameters())
        state = {name: params[name].detach().clone() for name in self.trainable_names_}
        for name, tensor in self.classifier_.state_dict().items():
            state[_CLASSIFIER_PREFIX + name] = tensor.detach().clone()
        return state

    def _save_state(self, directory: Path) -> list[str]:
        import torch

        buffer = io.BytesIO()
        torch.save(self._state_tensors(), buffer)
        atomic_write_bytes(directory / _WEIGHTS_FILE, buffer.getvalue())
        atomic_write_json(directory / _HISTORY_FILE, {"trainable": self.trainable_names_, "history": self.history_})
        return [_WEIGHTS_FILE, _HISTORY_FILE]

    def _load_state(self, directory: Path, config: dict[str, Any]) -> None:
        import torch

        if config.get("model") != self._identity()["model"]:
            raise LibraryError(
                f"the encoder in {directory} was fine-tuned from base model {config.get('model')!r}, "
                f"but the base found now is {self._identity()['model']!r}",
                fix="install the same base model (package version or folder), or re-fit the encoder",
            )
        state = torch.load(io.BytesIO((directory / _WEIGHTS_FILE).read_bytes()), weights_only=True)
        saved = read_json(directory / _HISTORY_FILE)
        model, names = self._base_model()
        expected = set(names) | {_CLASSIFIER_PREFIX + k for k in ("weight", "bias")}
        if set(state) != expected or names != saved["trainable"]:
            raise LibraryError(
                f"the fine-tuned tensors in {directory} do not match the base model's trainable blocks",
                fix="the folder is damaged or comes from another base model; re-fit the encoder",
            )
        params = dict(model.named_parameters())
        with torch.no_grad():
            for name in names:
                params[name].copy_(state[name])
        classifier = torch.nn.Linear(4 * _embedding_dim(model), 2)
        head = {k[len(_CLASSIFIER_PREFIX) :]: v for k, v in state.items() if k.startswith(_CLASSIFIER_PREFIX)}
        classifier.load_state_dict(head)
        model.eval()
        self._model = model
        self.trainable_names_ = names
        self.classifier_ = classifier.eval()
        self.history_ = saved["history"]

    def _state_fingerprint(self) -> str:
        state = self._state_tensors()
        names = sorted(state)
        return fingerprint(names, *[state[n].numpy() for n in names])
