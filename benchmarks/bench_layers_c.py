"""Speed of one training step of each LAYERS-C layer type against PyTorch on the CPU.

A step is the layer's forward pass plus the backward pass to its inputs and weights
(upstream gradient of ones), in float32, on a representative shape: text sequences of
(64, 50, 64) - batch, steps, features - for Bidirectional and the masked LSTM, (64, 100, 128)
for TimeDistributed(Dense), short clips (16, 8, 16, 16, 16) for TimeDistributed(Conv2D), and
(32, 64, 128) for self-attention with 8 heads of 16. PyTorch gets the same work with its own
modules (``nn.LSTM(bidirectional=True)``, ``nn.MultiheadAttention``, ``pack_padded_sequence``
for the mask). Each line prints the median of ``--repeats`` runs for the engine and for
PyTorch, run alternately (default threads; ``--threads N`` puts both on N), and their ratio;
the project's target is <= 1.5x.

Run: ``python -m benchmarks.bench_layers_c`` (``--repeats 7 --only Attention``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import engine.layers as L  # noqa: E402, N812
from benchmarks.layer_timing import alternating_ms, set_threads  # noqa: E402
from engine.autodiff.tensor import Tensor, grad  # noqa: E402
from engine.models.blas_threads import keep_freed_memory  # noqa: E402

try:  # optional reference, benchmark only
    import torch
    from torch import nn
except ImportError:  # pragma: no cover - depends on the machine
    torch = None

SEQ = (64, 50, 64)


def _padding_mask(shape, rng) -> np.ndarray:
    """Right padding: each sequence keeps between half and all of its steps."""
    n, t = shape[0], shape[1]
    lengths = rng.integers(t // 2, t + 1, size=n)
    return np.arange(t)[None, :] < lengths[:, None]


def _cases(rng):
    """(name, engine step factory, torch step factory, input shape). A factory returns a
    function of the input array that runs one step."""
    mask = _padding_mask(SEQ, rng)

    def engine_layer(make, masked=False, pair=False):
        def build():
            layer = make()

            def step(x):
                tensor = Tensor(x, requires_grad=True)
                inputs = [tensor, tensor] if pair else tensor
                out = layer(inputs, training=True, mask=mask if masked else None)
                sources = [tensor, *layer.trainable_weights]
                grad(out, sources, grad_output=np.ones(out.shape, np.float32))

            return step

        return build

    def torch_module(make, call=None):
        def build():
            module = make()
            module.train()

            def step(x):
                tensor = torch.tensor(x).requires_grad_(True)
                out = call(module, tensor) if call else module(tensor)
                out.backward(torch.ones_like(out))

            return step

        return build

    lengths = torch.tensor(mask.sum(axis=1)) if torch is not None else None

    def packed_lstm(module, x):
        packed = nn.utils.rnn.pack_padded_sequence(
            x, lengths, batch_first=True, enforce_sorted=False
        )
        return module(packed)[1][0][0]

    def folded_conv(module, x):
        n, t = x.shape[:2]
        return module(x.reshape(n * t, *x.shape[2:])).reshape(n, t, -1, *x.shape[3:])

    return [
        (
            "Bidirectional(LSTM 64) sequences",
            engine_layer(lambda: L.Bidirectional(units=64, return_sequences=True)),
            torch_module(
                lambda: nn.LSTM(64, 64, batch_first=True, bidirectional=True),
                lambda m, x: m(x)[0],
            ),
            SEQ,
        ),
        (
            "Bidirectional(GRU 64) last state",
            engine_layer(lambda: L.Bidirectional(layer="GRU", units=64)),
            torch_module(
                lambda: nn.GRU(64, 64, batch_first=True, bidirectional=True),
                lambda m, x: m(x)[1].transpose(0, 1).reshape(x.shape[0], -1),
            ),
            SEQ,
        ),
        (
            "TimeDistributed(Dense 128)",
            engine_layer(lambda: L.TimeDistributed(units=128)),
            torch_module(lambda: nn.Linear(128, 128)),
            (64, 100, 128),
        ),
        (
            "TimeDistributed(Conv2D 16 3x3 same)",
            engine_layer(
                lambda: L.TimeDistributed(layer="Conv2D", filters=16, kernel_size=3, padding="same")
            ),
            torch_module(lambda: nn.Conv2d(16, 16, 3, padding=1), folded_conv),
            (16, 8, 16, 16, 16),
        ),
        (
            "MultiHeadAttention self 8x16",
            engine_layer(lambda: L.MultiHeadAttention(num_heads=8, key_dim=16), pair=True),
            torch_module(
                lambda: nn.MultiheadAttention(128, 8, batch_first=True),
                lambda m, x: m(x, x, x, need_weights=False)[0],
            ),
            (32, 64, 128),
        ),
        (
            "MultiHeadAttention causal 8x16",
            engine_layer(
                lambda: L.MultiHeadAttention(num_heads=8, key_dim=16, use_causal_mask=True),
                pair=True,
            ),
            torch_module(
                lambda: nn.MultiheadAttention(128, 8, batch_first=True),
                lambda m, x: m(
                    x,
                    x,
                    x,
                    need_weights=False,
                    attn_mask=torch.triu(torch.ones(64, 64, dtype=torch.bool), 1),
                )[0],
            ),
            (32, 64, 128),
        ),
        (
            "LSTM 64 masked (right padding)",
            engine_layer(lambda: L.LSTM(64), masked=True),
            torch_module(lambda: nn.LSTM(64, 64, batch_first=True), packed_lstm),
            SEQ,
        ),
    ]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--only", default="", help="run the cases whose name contains this")
    parser.add_argument(
        "--threads", type=int, default=0, help="run both sides on this many threads"
    )
    args = parser.parse_args(argv)
    if torch is None:
        sys.exit("PyTorch is needed for the reference timings (pip install torch)")
    keep_freed_memory()  # as fit does: both sides reuse freed memory
    if args.threads:
        set_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"{'layer (one training step)':38} {'engine ms':>10} {'torch ms':>10} {'ratio':>7}")
    for name, mine, theirs, shape in _cases(rng):
        if args.only not in name:
            continue
        x = rng.standard_normal(shape).astype(np.float32)
        engine_step, torch_step = mine(), theirs()
        ours, reference = alternating_ms(
            lambda s=engine_step, x=x: s(x), lambda s=torch_step, x=x: s(x), args.repeats
        )
        print(f"{name:38} {ours:10.2f} {reference:10.2f} {ours / reference:6.2f}x", flush=True)


if __name__ == "__main__":
    main()
