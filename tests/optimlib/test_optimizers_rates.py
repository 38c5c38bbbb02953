"""Measured linear convergence rates on quadratics against the theory.

f(x) = 1/2 x^T A x with A = Q diag(mu, ..., L) Q^T, Q a random orthogonal matrix, so
x* = 0 and kappa = L / mu. Starting from a random x_0, the error e_k = x_k has
components along every eigenvector, in particular along those of mu and L.

* Gradient descent with eps = 2 / (mu + L): e_{k+1} = (I - eps A) e_k, whose eigenvalues
  1 - eps lambda lie in [-rho, rho] with rho = (kappa - 1) / (kappa + 1), attained at
  lambda = L and lambda = mu. Once the other components have died out,
  ||e_{k+1}|| = rho ||e_k|| exactly.
* Heavy ball with eps = 4 / (sqrt(L) + sqrt(mu))^2 and alpha = rho_hb^2, where
  rho_hb = (sqrt(kappa) - 1) / (sqrt(kappa) + 1): every eigen-direction follows
  z^2 - (1 + alpha - eps lambda) z + alpha = 0, whose roots all have modulus
  sqrt(alpha) = rho_hb; at lambda = mu and L the root is double, so the error behaves
  like k rho_hb^k. Over a long window the factor k contributes (k1 / k0)^(1 / (k1 - k0)),
  close to 1.

Since x* = 0 and the iteration is linear, rounding errors are relative to ||e_k|| and the
rate can be measured down to very small errors; runs stop at 1e-200, well above the
subnormal range (~1e-308), where relative precision would be lost. (The norm is taken
with math.hypot: sqrt(sum x^2) would underflow to 0 below ~1e-154.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from optimlib.optimizers import SGD, DivergenceError, Momentum

STOP = 1e-200


def quadratic(dim: int, kappa: float, seed: int = 0):
    """A = Q diag(mu, ..., L) Q^T with mu = 1, L = kappa, eigenvalues spread geometrically."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    eigenvalues = np.geomspace(1.0, kappa, dim)
    A = (Q * eigenvalues) @ Q.T
    A = (A + A.T) / 2
    x0 = rng.normal(size=dim)
    return A, x0


def norm(x: np.ndarray) -> float:
    """||x||_2 without the underflow of sqrt(sum x^2) below 1e-154 (math.hypot rescales)."""
    return math.hypot(*x)


def error_norms(opt, A, x0, max_steps: int) -> np.ndarray:
    """||x_k|| for k = 0, 1, ... until it falls below STOP or after max_steps steps."""
    x = x0
    norms = [norm(x)]
    while norms[-1] > STOP and len(norms) <= max_steps:
        x = opt.step(x, lambda y: A @ y)
        norms.append(norm(x))
    return np.array(norms)


def contraction(norms: np.ndarray, burn_in: float) -> float:
    """Geometric mean of ||e_{k+1}|| / ||e_k|| from k0 = burn_in * len to the end."""
    k0, k1 = int(burn_in * (len(norms) - 1)), len(norms) - 1
    return (norms[k1] / norms[k0]) ** (1 / (k1 - k0))


CASES = [(dim, kappa) for dim in (2, 10) for kappa in (10, 100, 1000)]


@pytest.mark.parametrize(("dim", "kappa"), CASES)
def test_gradient_descent_rate(dim, kappa):
    A, x0 = quadratic(dim, kappa)
    mu, L = 1.0, float(kappa)
    theory = (kappa - 1) / (kappa + 1)
    # ||e_k|| ~ rho^k falls by e^-40 in 20 kappa steps (rho^k ~ exp(-2 k / kappa))
    norms = error_norms(SGD(lr=2 / (mu + L)), A, x0, max_steps=20 * kappa)
    assert np.all(np.diff(norms) < 0)
    measured = contraction(norms, burn_in=0.25)
    assert abs(measured - theory) < 0.01 * theory
    # sharper: the number of steps per decade, -1 / log10(rate), is right to 1% too
    assert math.log(measured) / math.log(theory) == pytest.approx(1, rel=0.01)


@pytest.mark.parametrize(("dim", "kappa"), CASES)
def test_heavy_ball_rate(dim, kappa):
    A, x0 = quadratic(dim, kappa)
    mu, L = 1.0, float(kappa)
    theory = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    opt = Momentum(lr=4 / (math.sqrt(L) + math.sqrt(mu)) ** 2, alpha=theory**2)
    norms = error_norms(opt, A, x0, max_steps=100_000)
    assert norms[-1] <= STOP  # it got there, without underflow
    measured = contraction(norms, burn_in=0.1)
    assert abs(measured - theory) < 0.05 * theory
    assert math.log(measured) / math.log(theory) == pytest.approx(1, rel=0.05)
    # the sqrt(kappa) speed-up: per step, it is as fast as gradient descent would be
    # on a problem with condition number ~sqrt(kappa)
    gd_theory = (kappa - 1) / (kappa + 1)
    assert math.log(measured) / math.log(gd_theory) > 0.9 * math.sqrt(kappa)


def test_gradient_descent_diverges_beyond_2_over_L():
    """eps > 2 / L: the L-component grows by |1 - eps L| a step until it overflows."""
    A, x0 = quadratic(10, 100)
    L = 100.0
    eps = 2.5 / L
    opt = SGD(lr=eps)
    x, norms = x0, [norm(x0)]
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(DivergenceError) as info:
        for _ in range(10_000):
            x = opt.step(x, lambda y: A @ y)
            norms.append(norm(x))
    assert isinstance(info.value, FloatingPointError)
    assert info.value.step == opt.k == len(norms) - 1
    assert np.isfinite(x).all()  # the last iterate returned is finite
    growth = contraction(np.array(norms), burn_in=0.25)
    assert growth == pytest.approx(abs(1 - eps * L), rel=0.01)


@pytest.mark.parametrize("factor", [1.9, 2.1])
def test_two_over_L_is_the_threshold(factor):
    """Just below 2 / L gradient descent converges; just above, the error grows."""
    A, x0 = quadratic(10, 100)
    norms = error_norms(SGD(lr=factor / 100.0), A, x0, max_steps=3000)
    if factor < 2:
        assert norms[-1] < 1e-6 * norms[0]
    else:
        assert norms[-1] > 1e6 * norms[0]
