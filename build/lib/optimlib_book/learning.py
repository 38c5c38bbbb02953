"""Chapter 3, learning is not pure optimization: the capacity explorer.

Least squares on the first p of d features, for p = 1, ..., d, with N training examples
drawn from :meth:`LinearRegression.synthetic <optimlib.problems.LinearRegression.synthetic>`
(x ~ N(0, I), y = x^T w_true + noise, w_true_j = 1/j: features of decreasing
importance). For each p the fit is the empirical risk minimizer of the model that sees
only the first p features (the least-squares solution of least norm once p >= N), and
its true risk is exact, since the problem knows its distribution.

* :func:`capacity_curves`: the training and the true risk of every fit, over several
  draws of the data (no drawing);
* :func:`panel`: their medians against p on a log scale, with quartile bands, the Bayes
  risk and the interpolation threshold p = N; returns what it measured.

The training risk falls with p (the models are nested) and is 0 from p = N on; the true
risk first falls (less bias), then rises (more variance) and peaks at p = N, where the
fit must pass through every noisy example; beyond it, the minimum-norm solution's risk
comes down again ("double descent", Belkin et al. 2019).
"""

from __future__ import annotations

import numpy as np

from optimlib import _checks
from optimlib.problems import LinearRegression

from . import plot

__all__ = ["capacity_curves", "panel", "w_true"]


def w_true(d: int) -> np.ndarray:
    """The generating weights w_j = 1/j, j = 1..d: each feature matters less than the last."""
    return 1.0 / np.arange(1, _checks.positive_int("d", d) + 1)


def capacity_curves(N: int = 20, noise_std: float = 0.5, d: int = 40, seeds: int = 20, seed=0):
    """Training and true risk of least squares on the first p features, p = 1..d.

    Draw ``seeds`` data sets of N examples (generator ``np.random.default_rng([seed, s])``
    for the s-th); on each, fit every p. Returns a dict with ``p`` (1..d), ``train`` and
    ``risk`` (arrays of shape (seeds, d): the empirical risk at the fit and its true
    risk), and ``bayes_risk`` = noise_std^2 / 2, the risk of the best predictor.
    """
    N = _checks.positive_int("N", N)
    d = _checks.positive_int("d", d)
    seeds = _checks.positive_int("seeds", seeds)
    noise_std = _checks.nonnegative("noise_std", noise_std)
    weights = w_true(d)
    train = np.empty((seeds, d))
    risk = np.empty((seeds, d))
    for s in range(seeds):
        rng = np.random.default_rng([seed, s])
        full = LinearRegression.synthetic(N, d, rng, noise_std=noise_std, w_true=weights)
        for p in range(1, d + 1):
            fit = LinearRegression(full.X[:, :p], full.y)
            w = np.zeros(d)
            w[:p] = fit.x_star
            train[s, p - 1] = fit.f_star
            risk[s, p - 1] = full.risk(w)
    return {"p": np.arange(1, d + 1), "train": train, "risk": risk, "bayes_risk": noise_std**2 / 2}


def panel(ax, N: int = 20, noise_std: float = 0.5, d: int = 40, seeds: int = 20, seed=0) -> dict:
    """Median training and true risk against the number of features p (log scale).

    The training curve is drawn for p < N only: from p = N on the fit interpolates the
    data and its training risk is 0 up to rounding, which a log axis cannot show (a
    vertical line marks p = N). Returns a dict:

    * ``p``, ``train``, ``risk``: the p values and the medians over the seeds;
    * ``train_all``, ``risk_all``: every seed's curves, shape (seeds, d);
    * ``best_p``: the p of least median true risk, ``risk_best`` that risk;
    * ``peak_p``: the p of largest median true risk;
    * ``bayes_risk``: noise_std^2 / 2.
    """
    N = _checks.positive_int("N", N)
    curves = capacity_curves(N, noise_std, d, seeds, seed)
    p, train_all, risk_all = curves["p"], curves["train"], curves["risk"]
    train, risk = np.median(train_all, axis=0), np.median(risk_all, axis=0)
    below = p < N
    colors, markers = plot.PALETTE, plot.MARKERS
    plot.band(
        ax, p[below], train_all[:, below], label="training risk", color=colors[0], marker=markers[0]
    )
    plot.band(ax, p, risk_all, label="true risk", color=colors[1], marker=markers[1])
    bayes = curves["bayes_risk"]
    if bayes > 0:
        ax.axhline(bayes, color="0.3", linestyle=":", linewidth=1.2, label="Bayes risk")
    if d >= N:  # the threshold p = N lies on the plot
        ax.axvline(N, color="0.5", linestyle="--", linewidth=1.0)
        ax.annotate(
            f"p = N = {N}\ninterpolates",
            (N, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(4, -4),
            textcoords="offset points",
            va="top",
            fontsize=8.5,
            color="0.3",
        )
    ax.set_yscale("log")
    ax.set_xlabel("features used $p$ (model capacity)")
    ax.set_ylabel("risk (median over data sets)")
    ax.legend(loc="lower left")
    best = int(np.argmin(risk))
    return {
        "p": p,
        "train": train,
        "risk": risk,
        "train_all": train_all,
        "risk_all": risk_all,
        "best_p": int(p[best]),
        "risk_best": float(risk[best]),
        "peak_p": int(p[np.argmax(risk)]),
        "bayes_risk": bayes,
    }
