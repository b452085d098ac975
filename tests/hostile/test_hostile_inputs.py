"""Issue 15's hostile-input suite: every case of the corpus (``corpus.py``, ``cases_*.py``)
run as a user would run it, each in its own child process under a 2 GiB address-space
ceiling, judged by ``judge.py``: one clear error line (or success where the input is fine),
under the memory ceiling, under 5 s of CPU time; then the files it left behind are checked.

All children are run once, by one ``python -m tests.hostile.run_cases`` subprocess that
imports the engine once and forks per case (this pytest process never forks), two at a
time (``suite.py``); each test id then reports its own case. A case that hangs is killed
after a minute and fails; the FIFO cases, which can only hang, start first and in parallel.
``python -m tests.hostile.report`` prints the same verdicts as one table.
"""

from __future__ import annotations

import pytest

from tests.hostile.corpus import all_cases
from tests.hostile.judge import verdict
from tests.hostile.suite import build_and_run

CASES = all_cases()


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    return build_and_run(tmp_path_factory.mktemp("hostile"), CASES)


def test_the_corpus_is_large_and_covers_every_defect():
    assert len(CASES) >= 90
    covered = {c.defect for c in CASES if c.defect}
    assert covered >= {"1", "2", "3", "4", "5", "6", "7"}
    assert {c.expect for c in CASES} == {"error", "ok", "usage"}


@pytest.mark.parametrize("hostile", CASES, ids=[c.id for c in CASES])
def test_hostile_input(hostile, outcome):
    problems, summary = verdict(hostile, outcome)
    assert not problems, summary + "\n- " + "\n- ".join(problems)
