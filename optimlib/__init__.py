"""optimlib: tested numpy reference implementations of the optimizers that train neural networks."""
from .optimizers import SGD, AdaGrad, Adam, DivergenceError, Momentum, Nesterov, Optimizer, RMSProp
