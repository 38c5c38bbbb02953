"""optimlib: tested numpy reference implementations of the optimizers that train neural networks.

``import optimlib`` needs numpy only: the plotting and widget modules (matplotlib,
ipywidgets) load on first use of ``optimlib.plot`` / ``optimlib.widgets``.
"""

from __future__ import annotations

import importlib

from . import clipping, compare, nn, problems, schedules
from .clipping import clip_by_norm, clip_by_value
from .optimizers import SGD, AdaGrad, Adam, DivergenceError, Momentum, Nesterov, Optimizer, RMSProp
from .optimizers_extra import Adadelta, AdamW, AMSGrad, Lion, Nadam
from .run import History, minimize

__version__ = "0.1.0"

__all__ = [
    "SGD",
    "AMSGrad",
    "AdaGrad",
    "Adadelta",
    "Adam",
    "AdamW",
    "DivergenceError",
    "History",
    "Lion",
    "Momentum",
    "Nadam",
    "Nesterov",
    "Optimizer",
    "RMSProp",
    "clip_by_norm",
    "clip_by_value",
    "clipping",
    "compare",
    "explorers",
    "minimize",
    "nn",
    "plot",
    "problems",
    "schedules",
    "widgets",
]

_LAZY = ("explorers", "plot", "widgets")


def __getattr__(name: str):
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'optimlib' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
