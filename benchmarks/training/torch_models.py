"""PyTorch's model for each workload: the same layers, sizes, hyperparameters and
optimizer as :mod:`benchmarks.training.engine_models`, written as a PyTorch user would."""

from __future__ import annotations

from benchmarks.training.workloads import Workload


def torch_model(workload: Workload):
    import torch
    from torch import nn

    torch.manual_seed(0)
    build = {
        "mlp": _mlp,
        "cnn": _cnn,
        "lstm": _lstm,
        "cifar": _cifar,
        "resnet": _resnet,
        "bigru": _bigru,
        "transformer": _transformer,
    }[workload.name]
    net = build(nn, workload)
    if workload.name == "mlp":
        opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    elif workload.name == "resnet":
        opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    else:
        opt = torch.optim.Adam(net.parameters(), lr=0.001)
    return net, opt


def _mlp(nn, w):
    return nn.Sequential(
        nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10)
    )


def _cnn(nn, w):
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


def _lstm(nn, w):
    class LastStateLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(28, 128, batch_first=True)
            self.head = nn.Linear(128, 10)

        def forward(self, x):
            _, (h, _) = self.lstm(x)
            return self.head(h[-1])

    return LastStateLSTM()


def _cifar(nn, w):
    stack, channels = [], w.shape[0]
    for filters in (32, 64, 128):
        stack += [
            nn.Conv2d(channels, filters, 3, padding=1),
            nn.BatchNorm2d(filters, eps=1e-3),
            nn.ReLU(),
            nn.MaxPool2d(2),
        ]
        channels = filters
    return nn.Sequential(*stack, nn.Flatten(), nn.Linear(128 * 4 * 4, 10))


def _resnet(nn, w):
    def conv_bn(cin, cout, stride=1, kernel=3):
        return nn.Sequential(
            nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(cout, eps=1e-3),
        )

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.a, self.b = conv_bn(cin, cout, stride), conv_bn(cout, cout)
            self.short = nn.Identity() if stride == 1 else conv_bn(cin, cout, stride, 1)
            self.relu = nn.ReLU()

        def forward(self, x):
            return self.relu(self.b(self.relu(self.a(x))) + self.short(x))

    blocks, cin = [conv_bn(w.shape[0], 16), nn.ReLU()], 16
    for stage, filters in enumerate((16, 32, 64)):
        blocks += [Block(cin, filters, 1 if stage == 0 else 2), Block(filters, filters, 1)]
        cin = filters
    return nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def _bigru(nn, w):
    import torch

    class BiGRU(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(w.tokens, 128)
            self.gru = nn.GRU(128, 64, num_layers=2, bidirectional=True, batch_first=True)
            self.head = nn.Linear(128, w.classes)

        def forward(self, x):
            _, h = self.gru(self.embed(x))
            # The last layer's final states, forward then backward, as Keras concatenates.
            return self.head(torch.cat([h[-2], h[-1]], dim=1))

    return BiGRU()


def _transformer(nn, w):
    d_model = w.shape[-1]

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            layer = nn.TransformerEncoderLayer(
                d_model, 4, dim_feedforward=2 * d_model, dropout=0.0, batch_first=True
            )
            self.encoder = nn.TransformerEncoder(layer, 4, enable_nested_tensor=False)
            self.head = nn.Linear(d_model, 10)

        def forward(self, x):
            return self.head(self.encoder(x).mean(dim=1))

    return Encoder()
