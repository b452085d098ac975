"""CSV import: header, target, categorical encoding, and every bad case named by file/row/column."""

import numpy as np
import pytest

from engine.data import DataError, read_csv


def write(tmp_path, text, name="houses.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


HOUSES = """area,rooms,city,price
50.5,2,paris,300.0
80,3,lyon,250.5
120,4,paris,700
65,2,nice,310
"""


def test_numeric_and_onehot_columns(tmp_path):
    ds = read_csv(write(tmp_path, HOUSES), target="price")
    assert ds.task == "regression" and ds.name == "houses.csv"
    assert ds.x.dtype == np.float32 and ds.x.shape == (4, 5)
    assert ds.y.shape == (4, 1) and ds.y.dtype == np.float32
    assert ds.feature_names == ["area", "rooms", "city=lyon", "city=nice", "city=paris"]
    assert ds.categories == {"city": ["lyon", "nice", "paris"]}
    assert np.array_equal(ds.x[0], [50.5, 2, 0, 0, 1])
    assert np.allclose(ds.y[:, 0], [300, 250.5, 700, 310])
    assert ds.metadata["target"] == "price" and ds.metadata["columns"] == ["area", "rooms", "city"]


def test_ordinal_encoding_and_string_target(tmp_path):
    path = write(tmp_path, "size,colour,kind\n1,red,cat\n2,blue,dog\n3,red,cat\n4,green,bird\n")
    ds = read_csv(path, target="kind", categorical="ordinal")
    assert ds.task == "classification"
    assert ds.class_names == ["bird", "cat", "dog"] and list(ds.y) == [1, 2, 1, 0]
    assert ds.feature_names == ["size", "colour"]
    assert list(ds.x[:, 1]) == [2, 0, 2, 1]  # blue, green, red


def test_integer_target_is_classification_with_a_note(tmp_path):
    path = write(tmp_path, "a,b,label\n0.1,1,1\n0.2,2,3\n0.3,3,1\n")
    ds = read_csv(path, target="label")
    assert ds.task == "classification" and ds.class_names == ["1", "3"] and list(ds.y) == [0, 1, 0]
    assert any("class labels" in n for n in ds.notes)
    assert read_csv(path, target="label", task="regression").task == "regression"


def test_no_header_and_other_delimiters(tmp_path):
    ds = read_csv(write(tmp_path, "1;2;0\n3;4;1\n5;6;0\n", "plain.csv"))
    assert ds.feature_names == ["column_1", "column_2"] and list(ds.y) == [0, 1, 0]
    assert any("last one, 'column_3'" in n for n in ds.notes)
    ds = read_csv(write(tmp_path, "x\ty\n1\t2.5\n2\t3.5\n", "tabs.tsv"), target="y")
    assert ds.x[:, 0].tolist() == [1, 2]
    ds = read_csv(write(tmp_path, "\ufeffx,y\n1,2.5\n2,3.5\n", "bom.csv"), target=2)
    assert ds.feature_names == ["x"]


def test_blank_lines_keep_spreadsheet_row_numbers(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n\n3,x\n")
    with pytest.raises(DataError, match=r"houses.csv: row 4, column 'b': 'x' is not a number") as e:
        read_csv(path, target="a")
    assert e.value.row == 4 and e.value.column == "b" and e.value.path.endswith("houses.csv")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b,c\n1,2,3\n4,5\n", r"houses.csv: row 3: expected 3 cells, found 2"),
        ("a,b,c\n1,2,3\n4,5,6,7\n", r"houses.csv: row 3: expected 3 cells, found 4"),
        ("a,b,c\n1,2,3\n4,,6\n", r"houses.csv: row 3, column 'b': missing value"),
        ("a,b,c\n1,NA,3\n4,5,6\n", r"houses.csv: row 2, column 'b': missing value \('NA'\)"),
        (
            "a,b,c\n1,2,3\n4,five,6\n7,8,9\n",
            r"houses.csv: row 3, column 'b': 'five' is not a number",
        ),
        ("a,b,c\n1,2,3\n4,inf,6\n", r"houses.csv: row 3, column 'b': 'inf' is infinite"),
        ("a,b,c\n1,2,3\n4,5,\n", r"houses.csv: row 3, column 'c': missing value"),
        ("a,b,c\n1,2,3\n4,1e300,6\n", r"houses.csv: row 3, column 'b': '1e300' is too large"),
    ],
)
def test_bad_rows_name_file_row_and_column(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        read_csv(write(tmp_path, text), target="c")


def test_several_bad_rows_in_one_message(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n,3\n4,\n5,6\n7\n")
    with pytest.raises(DataError) as e:
        read_csv(path, target="b")
    msg = str(e.value)
    assert "row 3, column 'a': missing value" in msg
    assert "2 more bad row(s): 4, 6" in msg and "skip_bad_rows=True" in msg


def test_skip_bad_rows_reports_the_count(tmp_path):
    path = write(tmp_path, "a,b\n1,2\n,3\n4,\n5,6\n7\n")
    ds = read_csv(path, target="b", skip_bad_rows=True)
    assert len(ds) == 2 and ds.x[:, 0].tolist() == [1, 5]
    assert any("skipped 3 bad row(s)" in n and "rows 3, 4, 6" in n for n in ds.notes)


def test_target_that_does_not_exist(tmp_path):
    with pytest.raises(
        DataError, match=r"houses.csv: target column 'cost' does not exist; columns"
    ):
        read_csv(write(tmp_path, HOUSES), target="cost")
    with pytest.raises(DataError, match="no column 9"):
        read_csv(write(tmp_path, HOUSES), target=9)


def test_other_bad_files(tmp_path):
    with pytest.raises(DataError, match="missing.csv: file not found"):
        read_csv(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="empty.csv: the file is empty"):
        read_csv(write(tmp_path, "\n\n", "empty.csv"))
    with pytest.raises(DataError, match="head.csv: the file has a header but no data rows"):
        read_csv(write(tmp_path, "a,b\n", "head.csv"))
    with pytest.raises(DataError, match="dup.csv: columns 1 and 2 are both named 'a'"):
        read_csv(write(tmp_path, "a,a\n1,2\n", "dup.csv"))
    latin = tmp_path / "latin.csv"
    latin.write_bytes("a,b\n1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match="latin.csv: not UTF-8 text"):
        read_csv(latin)
    with pytest.raises(DataError, match="one.csv: found a single column"):
        read_csv(write(tmp_path, "a\n1\n2\n", "one.csv"))
    with pytest.raises(DataError, match="fractional numbers"):
        read_csv(write(tmp_path, "a,b\n1,0.5\n2,1.5\n", "frac.csv"), target="b",
                 task="classification")  # fmt: skip


def test_size_limit(tmp_path):
    path = write(tmp_path, HOUSES)
    with pytest.raises(DataError, match=r"houses.csv: file is .* larger than the limit"):
        read_csv(path, target="price", max_bytes=50)
