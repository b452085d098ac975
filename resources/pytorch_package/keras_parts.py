"""The project's loss, metrics, optimizer and callbacks with Keras's (and LayerCanvas's)
exact formulas.

PyTorch's own Adam puts epsilon inside the bias correction and its RMSprop names the
decay ``alpha``; these small classes follow Keras instead, so a step here is the step
LayerCanvas takes. Everything is configured from training.json (written by LayerCanvas).
"""

import math

import torch
import torch.nn.functional as F  # noqa: N812

EPSILON = 1e-7  # Keras's backend epsilon: probabilities are clipped to [eps, 1 - eps]


# -- losses ---------------------------------------------------------------------------------


def _smooth(y, label_smoothing, classes):
    return y * (1.0 - label_smoothing) + label_smoothing / classes if label_smoothing else y


def make_loss(config, logits_activation):
    """``loss(output, y)`` for the loss in ``config`` (a name or {"name": ..., ...}).

    ``logits_activation`` is the softmax/sigmoid that ends the output, if any: the model
    then hands over the values before it and the cross-entropies work on those."""
    name, args = (config, {}) if isinstance(config, str) else (config["name"], config)
    name = {"mse": "mean_squared_error", "mae": "mean_absolute_error"}.get(name, name)
    from_logits = bool(args.get("from_logits", False))
    smoothing = float(args.get("label_smoothing", 0.0) or 0.0)

    def predictions(out):
        """What the model outputs, from the logits it handed over."""
        if logits_activation == "softmax":
            return torch.softmax(out, -1)
        return torch.sigmoid(out) if logits_activation == "sigmoid" else out

    if name == "sparse_categorical_crossentropy":

        def loss(out, y):
            if from_logits or logits_activation == "softmax":
                return F.cross_entropy(out, y.long())
            p = predictions(out)
            p = (p / p.sum(-1, keepdim=True)).clamp(EPSILON, 1.0 - EPSILON)
            return -torch.log(p.gather(-1, y.long().unsqueeze(-1))).mean()

    elif name == "categorical_crossentropy":

        def loss(out, y):
            y = _smooth(y, smoothing, out.shape[-1])
            if from_logits or logits_activation == "softmax":
                return -(y * torch.log_softmax(out, -1)).sum(-1).mean()
            p = predictions(out)
            p = (p / p.sum(-1, keepdim=True)).clamp(EPSILON, 1.0 - EPSILON)
            return -(y * torch.log(p)).sum(-1).mean()

    elif name == "binary_crossentropy":

        def loss(out, y):
            y = y.reshape(out.shape).to(out.dtype)
            y = y * (1.0 - smoothing) + 0.5 * smoothing if smoothing else y
            if from_logits or logits_activation == "sigmoid":
                return F.binary_cross_entropy_with_logits(out, y, reduction="none").mean(-1).mean()
            p = predictions(out).clamp(EPSILON, 1.0 - EPSILON)
            return (-(y * torch.log(p) + (1 - y) * torch.log(1 - p))).mean(-1).mean()

    elif name == "mean_squared_error":

        def loss(out, y):
            return ((predictions(out) - y.reshape(out.shape)) ** 2).mean()

    elif name == "mean_absolute_error":

        def loss(out, y):
            return (predictions(out) - y.reshape(out.shape)).abs().mean()

    else:
        raise SystemExit(f"loss {name!r} is not in this package")
    return loss


# -- metrics --------------------------------------------------------------------------------


def metric_sums(names, loss_name, out, y, logits_activation):
    """``{metric: summed value over the batch}`` (divided by the sample count later)."""
    if logits_activation == "softmax":
        p = torch.softmax(out, -1)
    elif logits_activation == "sigmoid":
        p = torch.sigmoid(out)
    else:
        p = out
    sums = {}
    for name in names:
        if name in ("accuracy", "acc"):
            if loss_name == "sparse_categorical_crossentropy":
                hit = p.argmax(-1) == y.long()
            elif loss_name == "categorical_crossentropy":
                hit = p.argmax(-1) == y.argmax(-1)
            else:  # binary: the prediction is 1 above 0.5
                hit = ((p > 0.5).to(y.dtype) == y.reshape(p.shape)).float().mean(-1)
            sums[name] = hit.float().sum()
        elif name in ("mae", "mean_absolute_error"):
            sums[name] = (p - y.reshape(p.shape)).abs().reshape(len(p), -1).mean(-1).sum()
        elif name in ("mse", "mean_squared_error"):
            sums[name] = ((p - y.reshape(p.shape)) ** 2).reshape(len(p), -1).mean(-1).sum()
        else:
            raise SystemExit(f"metric {name!r} is not in this package")
    return sums


# -- optimizers -----------------------------------------------------------------------------


class KerasOptimizer(torch.optim.Optimizer):
    """Keras's step: clip the gradients, decay the weights (decoupled), apply the rule.

    ``rule`` is "sgd" (momentum, nesterov), "adam"/"adamw" (epsilon outside the root, bias
    corrections folded into the rate) or "rmsprop" (epsilon inside the root). The learning
    rate of step t is ``lr_at(t)`` (a constant, or the project's schedule)."""

    def __init__(self, params, rule, lr_at, **options):
        self.rule, self.lr_at = rule, lr_at
        self.clipnorm = options.pop("clipnorm", None)
        self.clipvalue = options.pop("clipvalue", None)
        self.global_clipnorm = options.pop("global_clipnorm", None)
        self.weight_decay = options.pop("weight_decay", None)
        self.options = options
        self.iterations = 0
        super().__init__([p for p in params if p.requires_grad], {})

    def current_lr(self):
        return self.lr_at(self.iterations)

    def set_lr(self, value):
        """A constant rate from now on (as setting Keras's optimizer.learning_rate does)."""
        value = float(value)
        self.lr_at = lambda step: value

    def _clip(self, grads):
        if self.clipnorm is not None:
            c = self.clipnorm
            return [g * (c / torch.clamp(torch.sqrt((g * g).sum()), min=c)) for g in grads]
        if self.global_clipnorm is not None and grads:
            c = self.global_clipnorm
            total = torch.sqrt(sum((g.double() * g.double()).sum() for g in grads))
            scale = (c / torch.clamp(total, min=c)).to(grads[0].dtype)
            return [g * scale for g in grads]
        if self.clipvalue is not None:
            return [g.clamp(-self.clipvalue, self.clipvalue) for g in grads]
        return grads

    @torch.no_grad()
    def step(self, closure=None):
        params = [p for g in self.param_groups for p in g["params"] if p.grad is not None]
        grads = self._clip([p.grad for p in params])
        lr = self.current_lr()
        o = self.options
        for p, g in zip(params, grads):
            if self.weight_decay:
                p.sub_(p * (self.weight_decay * lr))
            state = self.state[p]
            if self.rule == "sgd":
                momentum = o.get("momentum", 0.0)
                if not momentum:
                    p.sub_(g * lr)
                    continue
                v = state.setdefault("momentum", torch.zeros_like(p))
                v.mul_(momentum).sub_(g * lr)
                if o.get("nesterov"):
                    p.sub_(g * lr - v * momentum)
                else:
                    p.add_(v)
            elif self.rule in ("adam", "adamw"):
                b1, b2 = o.get("beta_1", 0.9), o.get("beta_2", 0.999)
                t = self.iterations + 1
                alpha = lr * math.sqrt(1.0 - b2**t) / (1.0 - b1**t)
                m = state.setdefault("m", torch.zeros_like(p))
                v = state.setdefault("v", torch.zeros_like(p))
                m.add_((g - m) * (1.0 - b1))
                v.add_((g * g - v) * (1.0 - b2))
                if o.get("amsgrad"):
                    vhat = state.setdefault("vhat", torch.zeros_like(p))
                    torch.maximum(vhat, v, out=vhat)
                    v = vhat
                p.sub_((m * alpha) / (torch.sqrt(v) + o.get("epsilon", 1e-7)))
            elif self.rule == "rmsprop":
                rho, eps = o.get("rho", 0.9), o.get("epsilon", 1e-7)
                v = state.setdefault("velocity", torch.zeros_like(p))
                v.mul_(rho).add_((1.0 - rho) * (g * g))
                denominator = v + eps
                if o.get("centered"):
                    a = state.setdefault("average_gradient", torch.zeros_like(p))
                    a.mul_(rho).add_((1.0 - rho) * g)
                    denominator = v - a * a + eps
                increment = (lr * g) / torch.sqrt(denominator)
                if o.get("momentum", 0.0) > 0:
                    buffer = state.setdefault("momentum", torch.zeros_like(p))
                    buffer.mul_(o["momentum"]).add_(increment)
                    p.sub_(buffer)
                else:
                    p.sub_(increment)
        self.iterations += 1


RULES = {"sgd": "sgd", "adam": "adam", "adamw": "adamw", "rmsprop": "rmsprop"}
_OPTION_KEYS = {
    "sgd": ("momentum", "nesterov"),
    "adam": ("beta_1", "beta_2", "epsilon", "amsgrad"),
    "adamw": ("beta_1", "beta_2", "epsilon", "amsgrad"),
    "rmsprop": ("rho", "momentum", "epsilon", "centered"),
}
_DEFAULT_LR = {"sgd": 0.01, "adam": 0.001, "adamw": 0.001, "rmsprop": 0.001}


def make_optimizer(params, config, schedule=None):
    """The optimizer of training.json's "optimizer"; ``schedule`` is the table of rates
    per step LayerCanvas computed from the project's schedule (the last rate holds after
    its end)."""
    name = config["name"].lower()
    options = {k: config[k] for k in _OPTION_KEYS[name] if k in config}
    for key in ("clipnorm", "clipvalue", "global_clipnorm", "weight_decay"):
        if config.get(key) is not None:
            options[key] = float(config[key])
    if name == "adamw" and "weight_decay" not in options:
        options["weight_decay"] = 0.004
    if schedule is not None:
        table = [float(v) for v in schedule]

        def lr_at(step):
            return table[min(step, len(table) - 1)]

    else:
        rate = float(config.get("learning_rate", _DEFAULT_LR[name]))

        def lr_at(step):
            return rate

    return KerasOptimizer(params, RULES[name], lr_at, **options)


# -- callbacks ------------------------------------------------------------------------------


def _maximize(monitor, mode):
    return "acc" in monitor.lower() if mode == "auto" else mode == "max"


class EarlyStopping:
    """Keras's EarlyStopping: stop when ``monitor`` has not improved by ``min_delta`` for
    ``patience`` epochs; ``restore_best_weights`` puts the best epoch's weights back."""

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):  # fmt: skip
        self.monitor, self.min_delta, self.patience = monitor, abs(float(min_delta)), patience
        self.baseline, self.restore = baseline, restore_best_weights
        self.start_from_epoch, self.max = start_from_epoch, _maximize(monitor, mode)
        self.wait, self.best, self.best_weights = 0, -math.inf if self.max else math.inf, None

    def _better(self, value, reference):
        if self.max:
            return value - self.min_delta > reference
        return value + self.min_delta < reference

    def on_epoch_end(self, epoch, logs, net):
        """Whether training stops now."""
        current = logs.get(self.monitor)
        if current is None or epoch < self.start_from_epoch:
            return False
        if self.restore and self.best_weights is None:
            self.best_weights = {k: v.clone() for k, v in net.state_dict().items()}
        self.wait += 1
        if self._better(current, self.best):
            self.best = current
            if self.restore:
                self.best_weights = {k: v.clone() for k, v in net.state_dict().items()}
            if self.baseline is None or self._better(current, self.baseline):
                self.wait = 0
            return False
        return self.wait >= self.patience and epoch > 0

    def on_train_end(self, net):
        if self.restore and self.best_weights is not None:
            net.load_state_dict(self.best_weights)


class ReduceLROnPlateau:
    """Keras's ReduceLROnPlateau: multiply the rate by ``factor`` after ``patience`` epochs
    without an improvement of ``min_delta``, then wait ``cooldown`` epochs; never below
    ``min_lr``."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):  # fmt: skip
        self.monitor, self.factor, self.patience = monitor, float(factor), patience
        self.min_delta, self.cooldown, self.min_lr = float(min_delta), cooldown, float(min_lr)
        self.max = _maximize(monitor, mode)
        self.best, self.wait, self.cooldown_counter = -math.inf if self.max else math.inf, 0, 0

    def on_epoch_end(self, epoch, logs, optimizer):
        current = logs.get(self.monitor)
        if current is None:
            return
        in_cooldown = self.cooldown_counter > 0
        if in_cooldown:
            self.cooldown_counter -= 1
            self.wait = 0
        improved = (current > self.best + self.min_delta if self.max
                    else current < self.best - self.min_delta)  # fmt: skip
        if improved:
            self.best, self.wait = current, 0
        elif not in_cooldown:
            self.wait += 1
            if self.wait >= self.patience:
                old = optimizer.current_lr()
                if old > self.min_lr:
                    optimizer.set_lr(max(old * self.factor, self.min_lr))
                    self.cooldown_counter = self.cooldown
                    self.wait = 0
