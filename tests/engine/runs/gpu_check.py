"""Run records on CuPy (not a pytest test; run on a machine with a GPU):
``python tests/engine/runs/gpu_check.py``. Records a digits CNN run on the GPU (last/best
weights), resumes it for one epoch from its optimizer state (the step counter goes on), and
records a ``layercanvas train --device gpu`` run. Passed on an H200 (cupy 14.2).
"""

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

import engine  # noqa: E402
from app import cli  # noqa: E402
from engine import backend  # noqa: E402
from engine.graph.project import Project  # noqa: E402
from engine.graph.session import prepare_training  # noqa: E402
from engine.runs import RunStore  # noqa: E402
from engine.runs.record import record_run  # noqa: E402
from engine.runs.resume import resume_setup  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[3] / "resources" / "examples" / "digits_cnn.lcproj"


def main() -> None:
    print("device:", backend.set_device("gpu"))
    src = json.loads(EXAMPLE.read_text())
    folder = Path(tempfile.mkdtemp())
    store = RunStore(folder)
    setup = prepare_training(Project.from_json(src), epochs=2)
    recorder = record_run(store, setup, source="gpu")
    setup.model.fit(**setup.fit_arguments([recorder]))
    first = store.load(recorder.record.id)
    print("first:", first.status, first.epochs_done, first.best, recorder.problem)

    again = prepare_training(Project.from_json(first.project), epochs=1)
    resume_setup(again, first)
    recorder = record_run(store, again, source="gpu", parent=first.id)
    again.model.fit(**again.fit_arguments([recorder]))
    child = store.load(recorder.record.id)
    model = engine.load_model(child.weights_path("last"), compile=True)
    steps = int(model.optimizer.iterations)
    print("child:", child.status, child.history["epoch"], steps, 3 * setup.steps_per_epoch)
    assert steps == 3 * setup.steps_per_epoch and child.status == "finished"

    project = folder / "t.lcproj"
    src["training"]["epochs"] = 1
    project.write_text(json.dumps(src))
    assert cli.main(["train", str(project), "--device", "gpu", "--out", str(folder / "o")]) == 0
    print("cli runs:", [r.status for r in RunStore(folder / "t.runs").list()[0]])
    print("GPU RUNS CHECK OK")


if __name__ == "__main__":
    main()
