"""Import a text-classification (or text-regression) set from a CSV column of texts.

``read_text_csv("reviews.csv", text_column="review", target="label", num_words=5000,
max_length=50)`` fits a :class:`~engine.data.tokenizer.TextTokenizer` on the texts and gives
int64 token ids ``(N, max_length)`` with the vocabulary (and the original texts) kept on the
dataset, plus the tokenizer settings in ``metadata["tokenizer"]`` so a trained model can
tokenise new text identically. Empty texts and missing targets are bad rows, reported by row
and column like every CSV problem.
"""

from __future__ import annotations

from pathlib import Path

from engine.data.dataset import Dataset
from engine.data.errors import DataError
from engine.data.files import DEFAULT_MAX_BYTES
from engine.data.importers.columns import check_cells, column_kind, encode_target
from engine.data.importers.csv_rows import RowProblems, check_widths, read_csv_rows
from engine.data.tokenizer import TextTokenizer

__all__ = ["read_text_csv"]


def read_text_csv(
    path: str | Path,
    text_column: str | int,
    target: str | int,
    *,
    num_words: int | None = 10000,
    max_length: int | None = 100,
    lowercase: bool = True,
    padding: str = "pre",
    truncating: str = "pre",
    header: bool | str = True,
    delimiter: str | None = None,
    task: str | None = None,
    skip_bad_rows: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Dataset:
    """Load texts and targets from two columns of a CSV file (see the module docstring)."""
    table = read_csv_rows(path, header=header, delimiter=delimiter, max_bytes=max_bytes)
    name = table.path.name
    ti = table.column_index(text_column, "text")
    yi = table.column_index(target, "target")
    if ti == yi:
        raise DataError(f"{name}: the text column and the target column are the same column")
    tokenizer = TextTokenizer(num_words, max_length, lowercase, padding, truncating)

    problems = RowProblems(table.path)
    check_widths(table, problems)
    texts = [row[ti] if ti < len(row) else "" for row in table.rows]
    targets = [row[yi] if yi < len(row) else "" for row in table.rows]
    text_name, target_name = table.columns[ti], table.columns[yi]
    for number, text in zip(table.numbers, texts):
        if number not in problems and not text.strip():
            problems.add(number, "empty text", text_name)
    kind = column_kind(targets)
    check_cells(targets, table.numbers, target_name, kind, problems)
    notes: list[str] = []
    skipped = problems.settle(skip_bad_rows, notes)
    keep = [k for k, number in enumerate(table.numbers) if number not in skipped]
    if not keep:
        raise DataError(f"{name}: no usable rows left after skipping bad rows", path=table.path)
    texts = [texts[k] for k in keep]
    y, task, class_names, note = encode_target(
        [targets[k] for k in keep], kind, target_name, task, name
    )
    if note:
        notes.append(note)

    tokenizer.fit_on_texts(texts)
    x = tokenizer.texts_to_padded(texts)
    n_words = len(tokenizer.word_counts)
    if num_words is not None and n_words > num_words - 2:
        notes.append(
            f"kept the {num_words - 2} most frequent of {n_words} distinct words; "
            "the rest map to the unknown-word id 1"
        )
    settings = {k: v for k, v in tokenizer.get_config().items() if k != "vocabulary"}
    settings["max_length"] = int(x.shape[1])  # the length actually used, also when None
    return Dataset(
        x=x,
        y=y,
        task=task,
        name=name,
        class_names=class_names,
        vocabulary=list(tokenizer.vocabulary),
        texts=texts,
        description=(
            f"{len(x)} texts of {name} ('{text_name}' -> '{target_name}'), "
            f"{tokenizer.vocabulary_size} word ids, length {x.shape[1]}"
        ),
        notes=notes,
        metadata={
            "source": str(table.path),
            "format": "text_csv",
            "text_column": text_name,
            "target": target_name,
            "tokenizer": settings,
        },
    )
