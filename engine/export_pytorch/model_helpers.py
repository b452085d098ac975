"""Helper ``nn.Module`` classes a package's ``model.py`` defines when its graph needs them:
Keras behaviours PyTorch's own modules lack (BatchNormalization's biased variance and
momentum, PReLU's per-element slopes, Keras's Bidirectional and MultiHeadAttention, the
Gaussian noise layers). Each is written into ``model.py`` as source, so the package stays
standalone."""

from __future__ import annotations

__all__ = ["helpers_text"]

_HELPERS = {
    "Bidirectional": '''
class Bidirectional(nn.Module):
    """Keras's Bidirectional: a recurrent layer run both ways, merged (concat, sum, mul,
    ave). Without return_sequences it takes each direction's last state, as Keras does."""

    def __init__(self, rnn, merge_mode, return_sequences):
        super().__init__()
        self.rnn, self.merge_mode, self.return_sequences = rnn, merge_mode, return_sequences

    def forward(self, x):
        out, state = self.rnn(x)
        state = state[0] if isinstance(state, tuple) else state  # LSTM: (h, c)
        if self.return_sequences:
            forward, backward = out.chunk(2, dim=-1)
        else:
            forward, backward = state[0], state[1]
        if self.merge_mode == "concat":
            return torch.cat([forward, backward], dim=-1)
        if self.merge_mode == "sum":
            return forward + backward
        if self.merge_mode == "mul":
            return forward * backward
        return (forward + backward) * 0.5
''',
    "MultiHeadAttention": '''
class MultiHeadAttention(nn.Module):
    """Keras's MultiHeadAttention, with its weight layout: per-head projections of query,
    key and value, scaled dot products, softmax, and the output projection."""

    def __init__(self, dims, heads, key_dim, value_dim, out, use_bias, dropout, causal):
        super().__init__()
        (dq, dk, dv), self.key_dim, self.causal = dims, key_dim, causal
        for name, features, width in (("query", dq, key_dim), ("key", dk, key_dim),
                                      ("value", dv, value_dim)):  # fmt: skip
            setattr(self, f"{name}_kernel", nn.Parameter(torch.zeros(features, heads, width)))
            if use_bias:
                setattr(self, f"{name}_bias", nn.Parameter(torch.zeros(heads, width)))
        self.attention_output_kernel = nn.Parameter(torch.zeros(heads, value_dim, out))
        self.attention_output_bias = nn.Parameter(torch.zeros(out)) if use_bias else None
        self.use_bias = use_bias
        self.dropout = nn.Dropout(dropout)

    def _project(self, x, name):
        y = torch.einsum("btd,dhw->bthw", x, getattr(self, f"{name}_kernel"))
        return y + getattr(self, f"{name}_bias") if self.use_bias else y

    def forward(self, query, value, key=None):
        key = value if key is None else key
        q = self._project(query, "query") * (1.0 / math.sqrt(self.key_dim))
        k, v = self._project(key, "key"), self._project(value, "value")
        scores = torch.einsum("bthw,bshw->bhts", q, k)
        if self.causal:
            t, s = scores.shape[-2:]
            allowed = torch.ones(t, s, dtype=torch.bool, device=scores.device).tril()
            scores = scores.masked_fill(~allowed, -math.inf)
        weights = self.dropout(torch.softmax(scores, dim=-1))
        attended = torch.einsum("bhts,bshw->bthw", weights, v)
        out = torch.einsum("bthw,hwo->bto", attended, self.attention_output_kernel)
        return out + self.attention_output_bias if self.use_bias else out
''',
    "KerasBatchNorm": '''
class KerasBatchNorm(nn.Module):
    """Keras's BatchNormalization: batch statistics while training (biased variance), and
    moving = moving * momentum + batch * (1 - momentum) (PyTorch's momentum is 1 - this)."""

    def __init__(self, size, axis=1, momentum=0.99, eps=1e-3, center=True, scale=True):
        super().__init__()
        self.axis, self.momentum, self.eps = axis, momentum, eps
        self.weight = nn.Parameter(torch.ones(size)) if scale else None
        self.bias = nn.Parameter(torch.zeros(size)) if center else None
        self.register_buffer("running_mean", torch.zeros(size))
        self.register_buffer("running_var", torch.ones(size))

    def forward(self, x):
        shape = [1] * x.dim()
        shape[self.axis] = -1
        # A frozen layer (trainable=False on the canvas) normalises with its moving
        # statistics even while training, as in Keras.
        frozen = self.weight is not None and not self.weight.requires_grad
        if self.training and not frozen:
            dims = [d for d in range(x.dim()) if d != self.axis]
            mean = x.mean(dim=dims)
            var = x.var(dim=dims, unbiased=False)
            with torch.no_grad():
                m = self.momentum
                self.running_mean.copy_(self.running_mean * m + mean.detach() * (1 - m))
                self.running_var.copy_(self.running_var * m + var.detach() * (1 - m))
        else:
            mean, var = self.running_mean, self.running_var
        y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.weight is not None:
            y = y * self.weight.view(shape)
        if self.bias is not None:
            y = y + self.bias.view(shape)
        return y
''',
    "PReLU": '''
class PReLU(nn.Module):
    """Keras's PReLU: one learned slope per element (shared along the shared axes)."""

    def __init__(self, shape):
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(shape))

    def forward(self, x):
        return torch.relu(x) - self.alpha * torch.relu(-x)
''',
    "GaussianNoise": '''
class GaussianNoise(nn.Module):
    """Adds N(0, stddev^2) noise while training; the identity otherwise."""

    def __init__(self, stddev):
        super().__init__()
        self.stddev = stddev

    def forward(self, x):
        return x + torch.randn_like(x) * self.stddev if self.training else x
''',
    "GaussianDropout": '''
class GaussianDropout(nn.Module):
    """Multiplies by N(1, rate / (1 - rate)) noise while training; the identity otherwise."""

    def __init__(self, rate):
        super().__init__()
        self.stddev = math.sqrt(rate / (1.0 - rate))

    def forward(self, x):
        return x * (1.0 + torch.randn_like(x) * self.stddev) if self.training else x
''',
}


def helpers_text(helpers: set[str]) -> list[str]:
    """The source of each helper class ``helpers`` names, in a stable order."""
    lines = []
    for name in sorted(helpers):
        lines += [_HELPERS[name].rstrip("\n"), ""]
    return lines
