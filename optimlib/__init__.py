"""optimlib: tested numpy reference implementations of the optimizers that train neural networks.

``import optimlib`` needs numpy only. The book's figures, explorers and chapter code live
in the separate package ``optimlib_book``, which imports this one and never the reverse.
"""

from __future__ import annotations

from . import averaging, clipping, compare, nn, problems, schedules, second_order
from .averaging import Averaged, averaged_history
from .clipping import clip_by_norm, clip_by_value
from .optimizers import SGD, AdaGrad, Adam, DivergenceError, Momentum, Nesterov, Optimizer, RMSProp
from .optimizers_extra import Adadelta, AdamW, AMSGrad, Lion, Nadam
from .run import History, minimize, rate
from .second_order import LBFGS, ConjugateGradient, Newton

__version__ = "0.1.0"

__all__ = [
    "LBFGS", "SGD", "AMSGrad", "AdaGrad", "Adadelta", "Adam", "AdamW", "Averaged",
    "ConjugateGradient", "DivergenceError", "History", "Lion", "Momentum", "Nadam", "Nesterov",
    "Newton", "Optimizer", "RMSProp", "averaged_history", "averaging", "clip_by_norm",
    "clip_by_value", "clipping", "compare", "minimize", "nn", "problems", "rate", "schedules",
    "second_order"
]  # fmt: skip
