"""``layercanvas train`` writes history.json and history.csv with one value per epoch in
every column: with ``validation_freq`` > 1 an epoch without validation has null (JSON) or an
empty cell (CSV), and each val_* value stays on the row of the epoch that computed it."""

from __future__ import annotations

import copy
import csv
import json

from app import cli
from tests.app.test_cli import TINY, write_project


def _reject(constant):
    raise ValueError(f"not strict JSON: {constant}")


def test_validation_every_second_epoch_stays_on_its_epoch(tmp_path, capsys):
    data = copy.deepcopy(TINY)
    data["training"]["validation_freq"] = 2
    out = tmp_path / "run"
    assert (
        cli.main(["train", write_project(tmp_path, data), "--epochs", "4", "--out", str(out)]) == 0
    )
    capsys.readouterr()
    history = json.loads((out / "history.json").read_text(), parse_constant=_reject)
    assert history["epoch"] == [1, 2, 3, 4]
    assert len(history["loss"]) == 4 and None not in history["loss"]
    assert history["val_loss"][0] is None and history["val_loss"][2] is None
    assert isinstance(history["val_loss"][1], float) and isinstance(history["val_loss"][3], float)
    with open(out / "history.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["1", "2", "3", "4"]
    assert [row["val_loss"] == "" for row in rows] == [True, False, True, False]
    assert float(rows[1]["val_loss"]) == history["val_loss"][1]
    assert float(rows[3]["val_loss"]) == history["val_loss"][3]
