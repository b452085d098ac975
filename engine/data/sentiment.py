"""A small, reproducible sentiment set: template sentences, positive or negative.

Sentences are built from templates ("the {noun} was {adverb} {adjective}", "i {verb} this
{noun}", ...) filled with words of known polarity. A share of them (``negation_rate``) is
negated ("... was not good", "i did not enjoy ...", "... never boring"), which flips the
label: a model that only counts positive and negative words is held to about
``1 - negation_rate`` accuracy, while one that sees word combinations (Embedding + pooling +
a hidden layer, or an LSTM) learns the set to well above 85%. Texts are tokenised with
:class:`~engine.data.tokenizer.TextTokenizer` and pre-padded to ``max_length``.
"""

from __future__ import annotations

import re

import numpy as np

from engine.data.dataset import Dataset
from engine.data.errors import DataError
from engine.data.tokenizer import TextTokenizer

__all__ = ["sentiment"]

_POSITIVE = [
    "good",
    "great",
    "excellent",
    "wonderful",
    "amazing",
    "fantastic",
    "lovely",
    "superb",
    "brilliant",
    "enjoyable",
    "delightful",
    "pleasant",
    "charming",
    "solid",
    "perfect",
]
_NEGATIVE = [
    "bad",
    "terrible",
    "awful",
    "boring",
    "poor",
    "horrible",
    "dull",
    "disappointing",
    "mediocre",
    "weak",
    "dreadful",
    "annoying",
    "bland",
    "clumsy",
    "painful",
]
_NOUNS = [
    "movie",
    "film",
    "book",
    "meal",
    "restaurant",
    "hotel",
    "service",
    "game",
    "album",
    "show",
    "phone",
    "story",
    "plot",
    "cast",
    "song",
    "product",
    "camera",
    "trip",
]
_ADVERBS = [
    "really",
    "very",
    "truly",
    "quite",
    "so",
    "pretty",
    "absolutely",
    "rather",
    "incredibly",
]
# (past tense, base form) so negated sentences read naturally: "i loved" / "i did not love".
_POSITIVE_VERBS = [("loved", "love"), ("enjoyed", "enjoy"), ("liked", "like"), ("adored", "adore")]
_NEGATIVE_VERBS = [("hated", "hate"), ("disliked", "dislike"), ("regretted", "regret")]

# Templates with an adjective slot {a}, or a verb slot ({v} past, {vb} base form).
_PLAIN = [
    "the {n} was {d} {a}",
    "this {n} is {a}",
    "what a {a} {n}",
    "honestly the {n} felt {a}",
    "i thought the {n} was {a}",
    "a {d} {a} {n} overall",
    "i {v} this {n}",
    "we {v} the {n} and the {m}",
]
_NEGATED = [
    "the {n} was not {d} {a}",
    "this {n} is not {a}",
    "the {n} was never {a}",
    "i did not think the {n} was {a}",
    "i did not {vb} this {n}",
    "we didn't {vb} the {n}",
]
_CLASSES = ["negative", "positive"]


def _sentence(rng: np.random.Generator, label: int, negated: bool) -> str:
    # A negated sentence carries a word of the opposite polarity.
    polarity = label ^ int(negated)
    template = str(rng.choice(_NEGATED if negated else _PLAIN))
    verbs = _POSITIVE_VERBS if polarity else _NEGATIVE_VERBS
    verb, verb_base = verbs[rng.integers(len(verbs))]
    noun, other = rng.choice(_NOUNS, 2, replace=False)
    text = template.format(
        n=noun,
        m=other,
        d=rng.choice(_ADVERBS),
        a=rng.choice(_POSITIVE if polarity else _NEGATIVE),
        v=verb,
        vb=verb_base,
    )
    return re.sub(r"\ba (?=[aeiou])", "an ", text)  # "an awful", not "a awful"


def sentiment(
    n_samples: int = 2000, max_length: int = 10, negation_rate: float = 0.25, seed: int = 0
) -> Dataset:
    """Template sentences labelled negative (0) / positive (1); x is int64 ``(N, max_length)``."""
    # Bounded as Python ints so that numpy never sees an absurd size (10**17 samples).
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or not 2 <= n_samples <= 10**6:
        raise DataError(f"n_samples must be an integer from 2 to 1000000, got {n_samples!r}")
    if (
        isinstance(max_length, bool)
        or not isinstance(max_length, int)
        or not 1 <= max_length <= 1000
    ):
        raise DataError(f"max_length must be an integer from 1 to 1000, got {max_length!r}")
    if not isinstance(negation_rate, int | float) or not 0 <= negation_rate <= 1:
        raise DataError(f"negation_rate must be a number in [0, 1], got {negation_rate!r}")
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n_samples) % 2)  # balanced classes
    negated = rng.random(n_samples) < negation_rate
    texts = [_sentence(rng, int(lab), bool(neg)) for lab, neg in zip(labels, negated)]
    tokenizer = TextTokenizer(max_length=max_length).fit_on_texts(texts)
    return Dataset(
        x=tokenizer.texts_to_padded(texts),
        y=labels.astype(np.int64),
        task="classification",
        name="sentiment",
        class_names=list(_CLASSES),
        vocabulary=list(tokenizer.vocabulary),
        texts=texts,
        description=(
            f"{n_samples} short review sentences, positive or negative, "
            f"{int(negation_rate * 100)}% negated; token ids padded to {max_length}"
        ),
        metadata={
            "tokenizer": {k: v for k, v in tokenizer.get_config().items() if k != "vocabulary"}
        },
    )
