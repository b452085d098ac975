"""Train the pre-trained models shipped in ``resources/pretrained/``, reproducibly.

Run from the repository root (either form works)::

    python -m resources.pretrained.train_pretrained            # rewrite every model here
    python resources/pretrained/train_pretrained.py --out /tmp/pretrained --only digits04_cnn

Each model is trained by LayerCanvas's own engine with fixed seeds (weights, shuffling,
augmentation and the train/validation split) and on one BLAS thread (``fit`` otherwise picks
its thread count by timing, and some BLAS kernels round differently on one thread and on
two), so the same machine writes the same weights;
then it is saved as ``NAME.lcmodel`` (architecture + weights, no optimizer state) and as
``NAME.onnx`` (checked by ``onnx.checker`` and compared with ``predict`` under onnxruntime by
``engine.onnx.export_model``), and ``manifest.json`` records what a user (and
``engine.applications``) needs: description, dataset, classes, the validation accuracy
reached, input shape, normalisation, and each file's size and SHA-256.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import engine  # noqa: E402
from engine import layers  # noqa: E402
from engine.data import load_builtin, prepare  # noqa: E402
from engine.data.augmentation import ImageDataGenerator  # noqa: E402

HERE = Path(__file__).resolve().parent
MANIFEST = "manifest.json"
MANIFEST_FORMAT = "layercanvas-pretrained"

# Shared by every model here: small random rotations and shifts make the convolution
# features less tied to the exact pixels of the training digits, so they transfer better.
AUGMENTATION = {"rotation_range": 10, "width_shift_range": 0.1, "height_shift_range": 0.1}

SPECS: dict[str, dict] = {
    "digits04_cnn": {
        "description": (
            "Small CNN for 8x8 handwritten digits, trained on the digits 0-4 only. Its "
            "'features' layer (64 values) is meant as a starting point for new digit tasks: "
            "see resources/examples/transfer_learning.lcproj."
        ),
        "classes": [0, 1, 2, 3, 4],
        "epochs": 40,
    },
    "digits10_cnn": {
        "description": "The same small CNN trained on all ten digits 0-9: a ready classifier.",
        "classes": list(range(10)),
        "epochs": 40,
    },
}

TRAINING = {
    "optimizer": {"name": "adam", "learning_rate": 0.003},
    "loss": "sparse_categorical_crossentropy",
    "batch_size": 32,
    "seed": 0,
    "validation_split": 0.2,
}


def build_digits_cnn(num_classes: int, name: str):
    """Input (1, 8, 8) -> Conv2D 16 3x3 relu -> MaxPooling2D -> Conv2D 32 3x3 relu ->
    Flatten -> Dense 64 relu ("features") -> Dense softmax ("head")."""
    x = engine.Input((1, 8, 8), name="image")
    h = layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(x)
    h = layers.MaxPooling2D(2, name="pool1")(h)
    h = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(h)
    h = layers.Flatten(name="flatten")(h)
    h = layers.Dense(64, activation="relu", name="features")(h)
    y = layers.Dense(num_classes, activation="softmax", name="head")(h)
    return engine.Model(x, y, name=name)


def train(name: str, spec: dict, verbose: int = 0):
    """The trained model (an uncompiled copy with its metadata), its figures, its seconds."""
    seed = TRAINING["seed"]
    dataset = load_builtin("digits", classes=spec["classes"])
    data = prepare(dataset, validation_split=TRAINING["validation_split"], seed=seed)
    engine.set_random_seed(seed)
    model = build_digits_cnn(len(spec["classes"]), name)
    model.compile(
        optimizer=engine.optimizers.get(dict(TRAINING["optimizer"])),
        loss=TRAINING["loss"],
        metrics=["accuracy"],
    )
    started = time.perf_counter()
    pinned = os.environ.get("LAYERCANVAS_BLAS_THREADS")
    os.environ["LAYERCANVAS_BLAS_THREADS"] = "1"  # read by fit: no timed thread choice
    try:
        model.fit(
            data.train.x,
            data.train.y,
            batch_size=TRAINING["batch_size"],
            epochs=spec["epochs"],
            seed=seed,
            augment=ImageDataGenerator(**AUGMENTATION),
            verbose=verbose,
        )
    finally:
        if pinned is None:
            del os.environ["LAYERCANVAS_BLAS_THREADS"]
        else:
            os.environ["LAYERCANVAS_BLAS_THREADS"] = pinned
    seconds = time.perf_counter() - started
    _, train_accuracy = model.evaluate(data.train.x, data.train.y, verbose=0)
    _, val_accuracy = model.evaluate(data.validation.x, data.validation.y, verbose=0)

    # What ships is the architecture and weights only: no optimizer state to carry around.
    shipped = engine.Model.from_config(model.get_config())
    shipped.set_weights(model.get_weights())
    shipped.metadata = {
        "pretrained": name,
        "class_names": list(dataset.class_names),
        "normalization": data.normalization,
        "dataset": data.info(),
    }
    figures = {
        "validation_accuracy": round(float(val_accuracy), 4),
        "train_accuracy": round(float(train_accuracy), 4),
        "validation_samples": len(data.validation),
        "train_samples": len(data.train),
    }
    return shipped, figures, seconds


def _file_entry(path: Path) -> dict:
    data = path.read_bytes()
    return {"path": path.name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def write_model(name: str, spec: dict, out: Path, verbose: int = 0) -> dict:
    """Train ``name``, write its two files into ``out`` and return its manifest entry."""
    from engine.onnx import export_model  # noqa: PLC0415 - onnx loads only when writing

    model, figures, seconds = train(name, spec, verbose)
    out.mkdir(parents=True, exist_ok=True)
    model_path, onnx_path = out / f"{name}.lcmodel", out / f"{name}.onnx"
    model.save(model_path)
    report = export_model(model, onnx_path, metadata={"source": model_path.name, "trained": "true"})
    classes = spec["classes"]
    print(f"{name}: trained in {seconds:.1f} s", flush=True)
    return {
        "description": spec["description"],
        "dataset": {
            "name": "digits",
            "classes": classes,
            "labels": f"digit d has label classes.index(d): 0-{len(classes) - 1}",
            "split": f"stratified {1 - TRAINING['validation_split']:.0%} train / "
            f"{TRAINING['validation_split']:.0%} validation, seed {TRAINING['seed']}",
        },
        "class_names": [str(c) for c in classes],
        "input_name": "image",
        "input_shape": [1, 8, 8],
        "normalization": "none beyond the digits loader's own scaling: pixel counts 0-16 "
        "divided by 16, so inputs are in [0, 1]",
        "feature_layer": "features",
        "head_layer": "head",
        "parameters": model.count_params(),
        "accuracy": figures,
        "training": {
            **{k: v for k, v in TRAINING.items() if k != "validation_split"},
            "epochs": spec["epochs"],
            "augmentation": AUGMENTATION,
        },
        "onnx": {
            "opset": report.opset,
            "max_relative_error": float(f"{report.max_relative_error:.3g}"),
        },
        "files": {"lcmodel": _file_entry(model_path), "onnx": _file_entry(onnx_path)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="folder to write into")
    parser.add_argument("--only", choices=sorted(SPECS), action="append", help="train only these")
    parser.add_argument("--verbose", type=int, default=0, help="1 shows the progress bar")
    args = parser.parse_args(argv)
    names = args.only or sorted(SPECS)

    manifest_path = args.out / MANIFEST
    manifest = {"format": MANIFEST_FORMAT, "version": 1, "models": {}}
    if manifest_path.is_file():  # keep the entries of models not retrained now
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    for name in names:
        entry = write_model(name, SPECS[name], args.out, args.verbose)
        manifest["models"][name] = entry
        acc = entry["accuracy"]
        print(
            f"{name}: validation accuracy {acc['validation_accuracy']:.4f} on "
            f"{acc['validation_samples']} held-out images (train {acc['train_accuracy']:.4f}); "
            "ONNX max relative error "
            f"{entry['onnx']['max_relative_error']:.1e}",
            flush=True,
        )
    manifest["models"] = dict(sorted(manifest["models"].items()))
    tmp = manifest_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    tmp.replace(manifest_path)
    print(f"wrote {manifest_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
