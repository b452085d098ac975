"""torchvision's classifiers and a few plain PyTorch models, built with random weights and
exported to ONNX the way users export them (``torch.onnx.export``, opset 17, eval mode).

torchvision's wheel is built against CUDA torch; with the CPU build its
``_meta_registrations`` module fails at import ("operator torchvision::nms does not
exist"). The classifiers are pure Python and never touch those operators, so an empty
module stands in for it before torchvision is first imported.
"""

from __future__ import annotations

import io
import sys
import types
import warnings

import onnx
import torch
from torch import nn

sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("_meta"))

import torchvision.models as tv  # noqa: E402 - needs the stand-in module above

# family -> builder with torchvision's defaults (1000 classes), random weights.
FAMILIES = {
    "resnet18": tv.resnet18,
    "resnet50": tv.resnet50,
    "mobilenet_v2": tv.mobilenet_v2,
    "mobilenet_v3_small": tv.mobilenet_v3_small,
    "mobilenet_v3_large": tv.mobilenet_v3_large,
    "squeezenet1_1": tv.squeezenet1_1,
    "shufflenet_v2_x0_5": tv.shufflenet_v2_x0_5,
    "efficientnet_b0": tv.efficientnet_b0,
    "vgg11": tv.vgg11,
    "vgg11_bn": tv.vgg11_bn,
    "densenet121": tv.densenet121,
    "googlenet": lambda: tv.googlenet(aux_logits=False, init_weights=True),
    "mnasnet0_5": tv.mnasnet0_5,
    "regnet_x_400mf": tv.regnet_x_400mf,
}


def build(name: str, seed: int = 0) -> nn.Module:
    """The torchvision model ``name`` with random weights (fixed seed), in eval mode."""
    torch.manual_seed(seed)
    model = FAMILIES[name]()
    calibrate(model, (3, 224, 224))
    return model.eval()


def calibrate(model: nn.Module, shape, batch: int = 2) -> None:
    """Give every BatchNorm the running statistics of one random batch, as a trained
    network has: with torchvision's initial statistics (mean 0, variance 1) the activations
    of a deep random network shrink towards zero, and a parity check on outputs of 1e-15
    would prove nothing."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    x = torch.randn(batch, *shape)
    with torch.no_grad():
        for norm in norms:
            norm.momentum = None  # cumulative average: the batch's own statistics
            norm.reset_running_stats()
        model.train()
        model(x)
        model.eval()
        # Logits of unit spread, as a trained classifier's are of a few units: random
        # weights can give ~100 (EfficientNet), where float32 rounding alone (PyTorch
        # against onnxruntime) passes the 1e-4 parity bar.
        last = [m for m in model.modules() if isinstance(m, nn.Linear | nn.Conv2d)][-1]
        spread = float(model(x).std())
        last.weight /= spread
        if last.bias is not None:
            last.bias /= spread


def parameter_count(model: nn.Module) -> int:
    """PyTorch's own count: trainable parameters, BN running statistics aside."""
    return sum(p.numel() for p in model.parameters())


def fused_parameter_count(model: nn.Module) -> int:
    """PyTorch's count once each BatchNorm after a convolution is folded into it, as the
    exporter does in eval mode (torch.fx's own Conv+BatchNorm fusion): the convolution
    keeps a bias, the BatchNorm's scale and shift go."""
    with warnings.catch_warnings():  # importing it touches torch.jit's deprecated names
        warnings.simplefilter("ignore", DeprecationWarning)
        from torch.fx.experimental.optimization import fuse  # noqa: PLC0415

        return parameter_count(fuse(model))


def export_onnx(model: nn.Module, *shapes, dynamic_batch: bool = True) -> onnx.ModelProto:
    """``model`` exported by ``torch.onnx.export`` (TorchScript exporter, opset 17) for
    inputs of ``shapes`` (without the batch), batch 1."""
    model.eval()
    names = [f"input{i}" if len(shapes) > 1 else "input" for i in range(len(shapes))]
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            tuple(torch.randn(1, *s) for s in shapes),
            buffer,
            opset_version=17,
            dynamo=False,
            input_names=names,
            output_names=["output"],
            dynamic_axes={n: {0: "batch"} for n in [*names, "output"]} if dynamic_batch else None,
        )
    return onnx.load_from_string(buffer.getvalue())


class TextCNN(nn.Module):
    """A plain 1-D CNN over (batch, channels, steps), as PyTorch users write one."""

    def __init__(self, channels: int = 8, classes: int = 5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv1d(channels, 16, 5, padding=2),
            nn.BatchNorm1d(16),
            nn.ReLU(),
            nn.MaxPool1d(2),
            nn.Conv1d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool1d(1),
        )
        self.head = nn.Linear(32, classes)

    def forward(self, x):
        return self.head(torch.flatten(self.features(x), 1))


class BiRNN(nn.Module):
    """A bidirectional LSTM or GRU over (batch, steps, features), the last step's output
    classified."""

    def __init__(self, cell: str = "lstm", features: int = 6, hidden: int = 12, classes: int = 4):
        super().__init__()
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn(features, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, classes)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


class SmallTransformer(nn.Module):
    """nn.TransformerEncoder (two layers) over (batch, steps, d_model), the steps averaged
    and classified.

    ``batch_first=False`` keeps PyTorch's default (steps, batch, features) layout inside:
    ``forward`` transposes its (batch, steps, features) input, as such users do.
    ``norm_first`` is the pre-norm layer. ``mask`` is None, ``"causal"`` (PyTorch's
    square subsequent mask with ``is_causal``) or ``"band"`` (each step sees itself and
    the next two only: a constant mask that MultiHeadAttention has no equivalent for).
    """

    def __init__(
        self,
        d_model: int = 16,
        heads: int = 4,
        classes: int = 3,
        batch_first: bool = True,
        norm_first: bool = False,
        mask: str | None = None,
    ):
        super().__init__()
        layer = nn.TransformerEncoderLayer(
            d_model,
            heads,
            dim_feedforward=32,
            dropout=0.1,
            batch_first=batch_first,
            norm_first=norm_first,
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, classes)
        self.batch_first = batch_first
        self.mask = mask

    def forward(self, x):
        steps = x.shape[1]
        kwargs = {}
        if self.mask == "causal":
            mask = nn.Transformer.generate_square_subsequent_mask(steps)
            kwargs = {"mask": mask, "is_causal": True}
        elif self.mask == "band":
            band = torch.ones(steps, steps, dtype=torch.bool)
            kwargs = {"mask": band.triu(3) | band.tril(-1)}
        if self.batch_first:
            return self.head(self.encoder(x, **kwargs).mean(dim=1))
        return self.head(self.encoder(x.transpose(0, 1), **kwargs).mean(dim=0))


class SelfAttention(nn.Module):
    """One nn.MultiheadAttention over its input, as people use it outside an encoder.

    ``layout``: ``"batch_first"`` (the module's ``batch_first=True``), ``"transposed"``
    (PyTorch's default (steps, batch, features) module, ``forward`` transposing its
    (batch, steps, features) input and the result back) or ``"steps_first"`` (the model
    itself takes (steps, batch, features): the batch is not on axis 0). ``padding_mask``
    adds a second input, a float key padding mask (batch, steps).
    """

    def __init__(
        self,
        d_model: int = 12,
        heads: int = 3,
        bias: bool = True,
        layout: str = "batch_first",
        padding_mask: bool = False,
    ):
        super().__init__()
        self.attention = nn.MultiheadAttention(
            d_model, heads, bias=bias, batch_first=layout == "batch_first"
        )
        self.layout = layout
        self.padding_mask = padding_mask

    def forward(self, x, pad=None):
        kwargs = {"key_padding_mask": pad, "need_weights": False} if self.padding_mask else {}
        kwargs.setdefault("need_weights", False)
        if self.layout == "transposed":
            x = x.transpose(0, 1)
            return self.attention(x, x, x, **kwargs)[0].transpose(0, 1)
        return self.attention(x, x, x, **kwargs)[0]


# name -> (builder, input shape without the batch)
SEQUENCE_MODELS = {
    "conv1d": (TextCNN, (8, 40)),
    "bilstm": (lambda: BiRNN("lstm"), (10, 6)),
    "bigru": (lambda: BiRNN("gru"), (10, 6)),
    "transformer": (SmallTransformer, (12, 16)),
}
