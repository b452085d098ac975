"""Optimizers by Keras name (``keras.optimizers``): SGD, Adam, AdamW, RMSprop, Adagrad,
Adadelta, Adamax, Nadam, Lion, Adafactor and Ftrl, each with Keras's update rule and
Keras's common options (``weight_decay``, ``clipnorm``, ``clipvalue``, ``global_clipnorm``,
``use_ema``, ``gradient_accumulation_steps``); see :mod:`engine.optimizers.base` for the
order of one step and :mod:`engine.optimizers.state` for saving and resuming.

The modules: ``base`` (the step), ``state`` (config and checkpoint state), ``clipping``,
``checks`` (argument errors), ``sgd``, ``adam`` (Adam, AdamW, Adamax, Nadam), ``adaptive``
(Adagrad, Adadelta, RMSprop, Adafactor), ``lion``, ``ftrl`` and ``registry`` (``get``,
``available``).
"""

from engine.optimizers.adam import Adam, Adamax, AdamW, Nadam
from engine.optimizers.adaptive import Adadelta, Adafactor, Adagrad, RMSprop
from engine.optimizers.base import Optimizer
from engine.optimizers.ftrl import Ftrl
from engine.optimizers.lion import Lion
from engine.optimizers.registry import OPTIMIZER_NAMES, available, get
from engine.optimizers.sgd import SGD

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adamax",
    "Nadam",
    "Lion",
    "Adafactor",
    "Ftrl",
    "get",
    "available",
    "OPTIMIZER_NAMES",
]
