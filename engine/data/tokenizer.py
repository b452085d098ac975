"""Text to integer sequences, with Keras's ``Tokenizer`` / ``pad_sequences`` names.

Index 0 is padding and index 1 stands for any word outside the vocabulary, always; real words
get 2, 3, ... by falling frequency (ties: first seen first), so the result does not depend on
hash order. ``num_words`` caps the vocabulary *including* those two reserved entries, which
makes it exactly the ``input_dim`` an ``Embedding`` layer needs. Words are runs of letters,
digits and inner apostrophes ("don't" is one word); punctuation separates words.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from engine.data.errors import DataError

__all__ = ["TextTokenizer", "pad_sequences", "PAD_TOKEN", "OOV_TOKEN"]

PAD_TOKEN = "<pad>"
OOV_TOKEN = "<oov>"
PAD_INDEX, OOV_INDEX = 0, 1

_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


def pad_sequences(
    sequences: Sequence[Sequence[int]],
    maxlen: int | None = None,
    padding: str = "pre",
    truncating: str = "pre",
    value: int = PAD_INDEX,
    dtype: Any = np.int64,
) -> np.ndarray:
    """Sequences as one ``(N, maxlen)`` array, padded and truncated as in Keras.

    ``maxlen=None`` uses the longest sequence. ``padding`` / ``truncating`` are ``"pre"``
    (at the start, Keras's default, which keeps the words an LSTM reads last) or ``"post"``.
    """
    for name, where in (("padding", padding), ("truncating", truncating)):
        if where not in ("pre", "post"):
            raise DataError(f"{name} must be 'pre' or 'post', got {where!r}")
    if maxlen is None:
        maxlen = max((len(s) for s in sequences), default=0)
    if maxlen < 1:
        raise DataError(f"maxlen must be at least 1, got {maxlen}")
    out = np.full((len(sequences), maxlen), value, dtype=dtype)
    for i, seq in enumerate(sequences):
        seq = list(seq)[-maxlen:] if truncating == "pre" else list(seq)[:maxlen]
        if not seq:
            continue
        if padding == "pre":
            out[i, maxlen - len(seq) :] = seq
        else:
            out[i, : len(seq)] = seq
    return out


class TextTokenizer:
    """Learn a vocabulary from texts and turn texts into padded integer sequences.

    Args:
        num_words: largest vocabulary size, counting padding and the unknown-word entry
            (``None``: keep every word seen).
        max_length: length sequences are padded/truncated to (``None``: the longest).
        lowercase: lower-case texts before splitting them into words.
        padding, truncating: ``"pre"`` or ``"post"``, as in :func:`pad_sequences`.
    """

    def __init__(
        self,
        num_words: int | None = None,
        max_length: int | None = None,
        lowercase: bool = True,
        padding: str = "pre",
        truncating: str = "pre",
    ) -> None:
        if num_words is not None and (isinstance(num_words, bool) or num_words < 3):
            raise DataError(
                f"num_words must be at least 3 (padding, unknown word, a word), got {num_words}"
            )
        if max_length is not None and (isinstance(max_length, bool) or max_length < 1):
            raise DataError(f"max_length must be at least 1, got {max_length}")
        for name, where in (("padding", padding), ("truncating", truncating)):
            if where not in ("pre", "post"):
                raise DataError(f"{name} must be 'pre' or 'post', got {where!r}")
        self.num_words = num_words
        self.max_length = max_length
        self.lowercase = lowercase
        self.padding = padding
        self.truncating = truncating
        self.word_counts: Counter[str] = Counter()
        self.vocabulary: list[str] = [PAD_TOKEN, OOV_TOKEN]
        self.word_index: dict[str, int] = {}

    def split(self, text: str) -> list[str]:
        """The words of one text."""
        if not isinstance(text, str):
            raise DataError(f"texts must be strings, got {type(text).__name__}")
        return _WORD.findall(text.lower() if self.lowercase else text)

    def fit_on_texts(self, texts: Iterable[str]) -> TextTokenizer:
        """Count the words of ``texts`` (adding to earlier calls) and rebuild the vocabulary."""
        for text in texts:
            self.word_counts.update(self.split(text))
        # Counter keeps insertion order, and sorted() is stable: ties stay first-seen first.
        ranked = sorted(self.word_counts, key=lambda w: -self.word_counts[w])
        if self.num_words is not None:
            ranked = ranked[: self.num_words - 2]
        self.vocabulary = [PAD_TOKEN, OOV_TOKEN, *ranked]
        self.word_index = {w: i for i, w in enumerate(self.vocabulary) if i >= 2}
        return self

    @property
    def vocabulary_size(self) -> int:
        """Number of distinct ids, padding and unknown included (``Embedding(input_dim=...)``)."""
        return len(self.vocabulary)

    def texts_to_sequences(self, texts: Iterable[str]) -> list[list[int]]:
        """Each text as its list of word ids (unknown words -> 1), unpadded."""
        index = self.word_index
        return [[index.get(w, OOV_INDEX) for w in self.split(t)] for t in texts]

    def sequences_to_texts(self, sequences: Iterable[Sequence[int]]) -> list[str]:
        """Ids back to words (padding dropped, unknown words shown as ``<oov>``)."""
        vocab = self.vocabulary
        return [" ".join(vocab[int(i)] for i in seq if int(i) != PAD_INDEX) for seq in sequences]

    def pad_sequences(self, sequences: Sequence[Sequence[int]]) -> np.ndarray:
        """Pad/truncate to ``max_length`` with this tokenizer's settings -> int64 ``(N, T)``."""
        return pad_sequences(sequences, self.max_length, self.padding, self.truncating)

    def texts_to_padded(self, texts: Iterable[str]) -> np.ndarray:
        """``pad_sequences(texts_to_sequences(texts))``: model-ready int64 ``(N, T)``."""
        return self.pad_sequences(self.texts_to_sequences(texts))

    def get_config(self) -> dict[str, Any]:
        """Settings and vocabulary, JSON-able, so a trained model can tokenise new text."""
        return {
            "num_words": self.num_words,
            "max_length": self.max_length,
            "lowercase": self.lowercase,
            "padding": self.padding,
            "truncating": self.truncating,
            "vocabulary": list(self.vocabulary),
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TextTokenizer:
        """Rebuild a fitted tokenizer from :meth:`get_config`'s dict."""
        vocabulary = config.get("vocabulary")
        if not isinstance(vocabulary, list) or vocabulary[:2] != [PAD_TOKEN, OOV_TOKEN]:
            raise DataError("tokenizer config: 'vocabulary' must start with '<pad>', '<oov>'")
        settings = {k: v for k, v in config.items() if k != "vocabulary"}
        unknown = sorted(
            set(settings) - {"num_words", "max_length", "lowercase", "padding", "truncating"}
        )
        if unknown:
            raise DataError(f"tokenizer config: unknown key(s) {', '.join(map(repr, unknown))}")
        tok = cls(**settings)
        tok.vocabulary = list(vocabulary)
        tok.word_index = {w: i for i, w in enumerate(vocabulary) if i >= 2}
        return tok
