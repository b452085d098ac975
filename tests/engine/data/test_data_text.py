"""TextTokenizer, pad_sequences and the text-column CSV importer."""

import json

import numpy as np
import pytest

from engine.data import DataError, TextTokenizer, pad_sequences, read_text_csv


def test_vocabulary_by_frequency_with_reserved_ids():
    tok = TextTokenizer().fit_on_texts(["The cat sat.", "the DOG sat", "the cat"])
    assert tok.vocabulary == ["<pad>", "<oov>", "the", "cat", "sat", "dog"]
    assert tok.word_index["the"] == 2 and tok.vocabulary_size == 6
    assert tok.texts_to_sequences(["the bird sat", "Cat!"]) == [[2, 1, 4], [3]]


def test_num_words_caps_the_vocabulary_including_reserved_ids():
    tok = TextTokenizer(num_words=4).fit_on_texts(["a a a b b c", "d"])
    assert tok.vocabulary == ["<pad>", "<oov>", "a", "b"]
    assert tok.texts_to_sequences(["a b c d"]) == [[2, 3, 1, 1]]


def test_lowercase_off_and_apostrophes():
    tok = TextTokenizer(lowercase=False).fit_on_texts(["Don't stop", "don't"])
    assert tok.split("Don't stop, now") == ["Don't", "stop", "now"]
    assert "Don't" in tok.word_index and "don't" in tok.word_index


def test_pad_sequences_like_keras():
    seqs = [[1, 2, 3], [4], []]
    assert pad_sequences(seqs).tolist() == [[1, 2, 3], [0, 0, 4], [0, 0, 0]]
    assert pad_sequences(seqs, maxlen=2).tolist() == [[2, 3], [0, 4], [0, 0]]
    assert pad_sequences(seqs, maxlen=2, padding="post", truncating="post").tolist() == [
        [1, 2],
        [4, 0],
        [0, 0],
    ]
    assert pad_sequences(seqs).dtype == np.int64
    with pytest.raises(DataError, match="padding must be 'pre' or 'post'"):
        pad_sequences(seqs, padding="middle")


def test_tokenizer_padding_and_config_round_trip():
    tok = TextTokenizer(max_length=4).fit_on_texts(["one two three four five", "two"])
    x = tok.texts_to_padded(["one two three four five", "two", "six"])
    assert x.shape == (3, 4) and x[1].tolist() == [0, 0, 0, 2] and x[2].tolist() == [0, 0, 0, 1]
    config = json.loads(json.dumps(tok.get_config()))
    again = TextTokenizer.from_config(config)
    assert np.array_equal(
        again.texts_to_padded(["two five zero"]), tok.texts_to_padded(["two five zero"])
    )
    assert tok.sequences_to_texts(x[:1]) == ["two three four five"]
    with pytest.raises(DataError, match="num_words must be at least 3"):
        TextTokenizer(num_words=2)
    with pytest.raises(DataError, match="unknown key.*'lower'"):
        TextTokenizer.from_config({**config, "lower": True})
    with pytest.raises(DataError, match="truncating must be 'pre' or 'post'"):
        TextTokenizer(truncating="end")


def write(tmp_path, text, name="reviews.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


REVIEWS = """review,label
"Great film, loved it",pos
"Boring, and far too long",neg
"not bad at all",pos
"awful",neg
"""


def test_text_csv_import(tmp_path):
    ds = read_text_csv(write(tmp_path, REVIEWS), "review", "label", num_words=50, max_length=6)
    assert ds.x.dtype == np.int64 and ds.x.shape == (4, 6)
    assert ds.class_names == ["neg", "pos"] and list(ds.y) == [1, 0, 1, 0]
    assert ds.vocabulary[:2] == ["<pad>", "<oov>"] and "loved" in ds.vocabulary
    assert ds.texts[0] == "Great film, loved it"
    assert ds.metadata["tokenizer"]["max_length"] == 6
    words = [ds.vocabulary[i] for i in ds.x[0] if i]
    assert words == ["great", "film", "loved", "it"]


def test_text_csv_vocabulary_cap_is_noted(tmp_path):
    ds = read_text_csv(write(tmp_path, REVIEWS), "review", "label", num_words=4, max_length=None)
    assert ds.vocabulary_size == 4 and any("most frequent" in n for n in ds.notes)
    assert ds.x.shape[1] == 5  # the longest text


def test_text_csv_bad_rows(tmp_path):
    path = write(tmp_path, 'review,label\n"fine",pos\n"",neg\n"ok"\n')
    with pytest.raises(DataError, match=r"reviews.csv: row 3, column 'review': empty text"):
        read_text_csv(path, "review", "label")
    ds = read_text_csv(path, "review", "label", skip_bad_rows=True)
    assert len(ds) == 1 and any("skipped 2 bad row(s)" in n for n in ds.notes)
    with pytest.raises(DataError, match=r"reviews.csv: row 3, column 'label': missing value"):
        read_text_csv(write(tmp_path, 'review,label\n"a",pos\n"b",\n'), "review", "label")
    with pytest.raises(DataError, match="reviews.csv: text column 'text' does not exist"):
        read_text_csv(write(tmp_path, REVIEWS), "text", "label")
