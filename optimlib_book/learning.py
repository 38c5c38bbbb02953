"""Chapter 3, learning is not pure optimization: the capacity explorer and experiments.

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

The chapter's other experiments, computing (numpy only) apart from drawing:
:func:`compute_excess_risk` and :func:`draw_excess_risk` (the excess risk of the
empirical risk minimizer against N), :func:`risk_landscape` and :func:`draw_landscapes`
(the risk and two empirical risks in two dimensions), :func:`compute_minibatch_variance`
(the variance of a minibatch gradient against the batch size) and
:func:`angle_degrees` (how far a classifier's boundary is turned from the Bayes one).

The training risk falls with p (the models are nested) and is 0 from p = N on; the true
risk first falls (less bias), then rises (more variance) and peaks at p = N, where the
fit must pass through every noisy example; beyond it, the minimum-norm solution's risk
comes down again ("double descent", Belkin et al. 2019).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimlib import _checks
from optimlib.problems import LinearRegression, Quadratic

from . import plot

__all__ = [
    "ExcessRisk",
    "angle_degrees",
    "capacity_curves",
    "compute_excess_risk",
    "compute_minibatch_variance",
    "draw_budget_runs",
    "draw_erratum",
    "draw_excess_risk",
    "draw_landscapes",
    "draw_minibatch_variance",
    "draw_separable",
    "draw_surrogate_training",
    "draw_surrogates",
    "nested_least_squares",
    "panel",
    "risk_landscape",
    "surrogate_losses",
    "w_true",
]


def w_true(d: int) -> np.ndarray:
    """The generating weights w_j = 1/j, j = 1..d: each feature matters less than the last."""
    return 1.0 / np.arange(1, _checks.positive_int("d", d) + 1)


def nested_least_squares(X, y) -> np.ndarray:
    """Least squares on the first p columns, for every p at once, for a stack of data sets.

    X has shape (sets, N, d) and y (sets, N); returns ``fits`` of shape (sets, d, d) whose
    row p - 1 is the fit on the first p features (zeros after them): the least-squares
    solution for p <= N, the least-norm one beyond (what ``np.linalg.lstsq`` returns).

    One QR factorization X = Q R per data set serves every p <= min(N, d), since the
    first p columns of X are Q R[:, :p]: the fit solves R[:p, :p] w = (Q^T y)[:p]. Beyond
    N, the least-norm solution X_p^T (X_p X_p^T)^-1 y comes from the QR of X_p^T (one
    stacked call). Both avoid forming X^T X, whose condition number is the square of X's
    (large near p = N, where the risk peaks). R is upper triangular, so the leading
    p x p block of its inverse is the inverse of R[:p, :p]: one inverse per data set
    gives every p's fit as partial sums of its columns times Q^T y (1.2 ms for 20
    data sets of N = d = 40, where their 800 triangular solves took 17 ms).
    """
    X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    sets, N, d = X.shape
    m = min(N, d)
    fits = np.zeros((sets, d, d))
    Q, R = np.linalg.qr(X)  # Q (sets, N, m), R (sets, m, d)
    z = np.einsum("snm,sn->sm", Q, y)
    inside = np.arange(m) < np.arange(1, m + 1)[:, None]  # [p - 1, j]: feature j is used
    # [s, j, p - 1] = sum over k < p of (R^-1)[j, k] z[k]: w_j of the fit on p features
    partial_sums = np.cumsum(np.linalg.inv(R[:, :, :m]) * z[:, None, :], axis=2)
    fits[:, :m, :m] = np.swapaxes(partial_sums, 1, 2) * inside
    if d > N:  # p > N: the least-norm solution, through the QR of X_p^T
        used = np.arange(d) < np.arange(N + 1, d + 1)[:, None]  # [p - N - 1, j]
        Q_t, R_t = np.linalg.qr(np.swapaxes(X, 1, 2)[:, None] * used[None, :, :, None])
        rhs = np.broadcast_to(y[:, None, :, None], (*R_t.shape[:-1], 1))
        fits[:, N:] = (Q_t @ np.linalg.solve(np.swapaxes(R_t, -1, -2), rhs))[..., 0]
    return fits


def capacity_curves(N: int = 20, noise_std: float = 0.5, d: int = 40, seeds: int = 20, seed=0):
    """Training and true risk of least squares on the first p features, p = 1..d.

    Draw ``seeds`` data sets of N examples (generator ``np.random.default_rng([seed, s])``
    for the s-th); on each, fit every p (:func:`nested_least_squares`). Returns a dict
    with ``p`` (1..d), ``train`` and ``risk`` (arrays of shape (seeds, d): the empirical
    risk at the fit and its true risk), and ``bayes_risk`` = noise_std^2 / 2, the risk
    of the best predictor.
    """
    N = _checks.positive_int("N", N)
    d = _checks.positive_int("d", d)
    seeds = _checks.positive_int("seeds", seeds)
    noise_std = _checks.nonnegative("noise_std", noise_std)
    weights = w_true(d)
    problems = [
        LinearRegression.synthetic(
            N, d, np.random.default_rng([seed, s]), noise_std=noise_std, w_true=weights
        )
        for s in range(seeds)
    ]
    fits = nested_least_squares([q.X for q in problems], [q.y for q in problems])
    train = np.stack([q.f(w) for q, w in zip(problems, fits, strict=True)])  # at the fit
    risk = np.stack([q.risk(w) for q, w in zip(problems, fits, strict=True)])
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
        # The note goes right of the line where it has room (the explorer's width: 15%
        # of the frame), else left of it: inside the frame, which keeps the layout.
        low, high = ax.get_xlim()
        right = (N - low) / (high - low) < 0.85
        ax.annotate(
            f"p = N = {N}\ninterpolates",
            (N, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(4 if right else -4, -4),
            textcoords="offset points",
            ha="left" if right else "right",
            multialignment="left" if right else "right",
            va="top",
            fontsize=8.5,
            color="0.3",
        )
    ax.set_yscale("log")
    ax.minorticks_off()  # decades are enough here, and minor log ticks are slow to draw
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


@dataclass
class ExcessRisk:
    """Excess risk J(w_hat) - J* and generalization gap J(w_hat) - J~(w_hat) of least
    squares, over ``seeds`` data sets for each number of examples in ``Ns``.

    ``excess`` and ``gap`` have shape (len(Ns), seeds). The exact expectations are
    eq-ch03-excess, sigma^2 d / (2 (N - d - 1)), and eq-ch03-gap,
    (sigma^2 d / 2) (1 / (N - d - 1) + 1 / N); the asymptote is sigma^2 d / (2N).
    """

    Ns: np.ndarray
    d: int
    sigma: float
    excess: np.ndarray
    gap: np.ndarray

    @property
    def seeds(self) -> int:
        return self.excess.shape[1]

    def mean_and_se(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean over the data sets and its standard error, for each N."""
        se = values.std(axis=1, ddof=1) / np.sqrt(self.seeds)
        return values.mean(axis=1), se

    @property
    def exact_excess(self) -> np.ndarray:
        return self.sigma**2 / 2 * self.d / (self.Ns - self.d - 1)

    @property
    def exact_gap(self) -> np.ndarray:
        return self.sigma**2 * self.d / 2 * (1 / (self.Ns - self.d - 1) + 1 / self.Ns)

    @property
    def asymptote(self) -> np.ndarray:
        return self.sigma**2 * self.d / (2 * self.Ns)


def compute_excess_risk(Ns, d: int, sigma: float, seeds: int, seed: int = 3) -> ExcessRisk:
    """Fit least squares to ``seeds`` data sets of each size N (generator
    ``default_rng([seed, a, s])`` for the s-th set of the a-th size); the risk is exact.

    Each data set is the one ``LinearRegression.synthetic(N, d, rng, noise_std=sigma)``
    draws (x ~ N(0, I), then the noise; w_true = (1, ..., 1)), but the sets of one size
    are fitted together, as a stack: as 1400 problem objects, chapter 3's study took 2.5
    times as long (tests/book/test_learning.py compares with the problems' own fits).
    """
    Ns = np.asarray(Ns)
    excess = np.empty((len(Ns), seeds))
    gap = np.empty((len(Ns), seeds))
    w_true = np.ones(d)
    for a, N in enumerate(Ns):
        X, y = np.empty((seeds, int(N), d)), np.empty((seeds, int(N)))
        for s in range(seeds):
            rng = np.random.default_rng([seed, a, s])
            X[s] = rng.standard_normal((int(N), d))
            y[s] = X[s] @ w_true + sigma * rng.standard_normal(int(N))
        Q, R = np.linalg.qr(X)  # least squares by QR, as stable as lstsq for N >= d
        w_hat = np.linalg.solve(R, np.einsum("snd,sn->sd", Q, y)[..., None])[..., 0]
        train_risk = np.mean((np.einsum("snd,sd->sn", X, w_hat) - y) ** 2, axis=1) / 2
        # the exact risk, LinearRegression.risk with Sigma = I: |w - w_true|^2 / 2 + sigma^2 / 2
        excess[a] = np.sum((w_hat - w_true) ** 2, axis=1) / 2
        gap[a] = excess[a] + sigma**2 / 2 - train_risk
    return ExcessRisk(Ns, d, sigma, excess, gap)


def compute_minibatch_variance(problem, w, batch_sizes, draws: int, rng) -> dict:
    """E ||g_hat - grad||^2 at ``w`` for each batch size: measured over ``draws``
    minibatches (``measured`` and its standard error ``se``) and exact (eq-ch03-variance,
    ``problem.minibatch_variance``)."""
    full = problem.grad(w)
    measured, se = [], []
    for m in batch_sizes:
        sq = np.array(
            [np.sum((problem.minibatch_grad(w, int(m), rng) - full) ** 2) for _ in range(draws)]
        )
        measured.append(sq.mean())
        se.append(sq.std(ddof=1) / np.sqrt(draws))
    exact = [problem.minibatch_variance(w, int(m)) for m in batch_sizes]
    return {"measured": np.array(measured), "se": np.array(se), "exact": np.array(exact)}


def angle_degrees(w, w_true) -> float:
    """The angle between w and w_true in degrees: how far a linear classifier's
    boundary is turned from the Bayes boundary."""
    cosine = w @ w_true / (np.linalg.norm(w) * np.linalg.norm(w_true))
    return float(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))))


def risk_landscape(problem) -> Quadratic:
    """A quadratic with the contour lines of the risk of least squares (eq-ch03-lsq-risk):
    (1/2) w^T Sigma w - (Sigma w*)^T w differs from it by a constant only."""
    Sigma = problem.Sigma
    return Quadratic(Sigma, Sigma @ np.asarray(problem.w_true))


def draw_landscapes(axes, small, large, bounds=((-0.5, 2.5), (-0.5, 2.5))) -> None:
    """Three contour panels: the true risk with both fits, then each empirical risk."""
    w_star = np.asarray(small.w_true)
    fits = {small.N: ("X", plot.PALETTE[1]), large.N: ("P", plot.PALETTE[2])}
    panels = [
        (risk_landscape(small), r"true risk $J(w)$", (small, large)),
        (small, rf"empirical risk $\tilde J(w)$, $N = {small.N}$", (small,)),
        (large, rf"empirical risk $\tilde J(w)$, $N = {large.N}$", (large,)),
    ]
    for ax, (landscape, title, shown) in zip(axes, panels, strict=True):
        plot.contour(ax, landscape, bounds=bounds, mark_min=False, resolution=120)
        ax.plot(*w_star, "*", color="black", markersize=14, label=r"risk minimizer $w^\star$")
        for problem in shown:
            marker, color = fits[problem.N]
            label = rf"empirical risk minimizer $\hat w_{{{problem.N}}}$"
            ax.plot(*problem.x_star, marker, color=color, markersize=10, label=label)
        ax.set_title(title)
        ax.set_xlabel(r"$w_1$")
        ax.set_ylabel(r"$w_2$")
    handles, labels = axes[0].get_legend_handles_labels()
    axes[0].figure.legend(handles, labels, loc="outside lower center", ncols=3)


def draw_excess_risk(ax, study: ExcessRisk) -> None:
    """Measured means (bars of two standard errors) against the exact expectations."""
    series = [
        (study.excess, study.exact_excess, r"excess risk $J(\hat w_N) - J^\star$"),
        (study.gap, study.exact_gap, r"gap $J(\hat w_N) - \tilde J(\hat w_N)$"),
    ]
    for i, (values, exact, label) in enumerate(series):
        mean, se = study.mean_and_se(values)
        color, marker = plot.PALETTE[i], plot.MARKERS[i]
        ax.errorbar(
            study.Ns,
            mean,
            yerr=2 * se,
            fmt=marker,
            color=color,
            capsize=3,
            label=label + ", measured",
        )
        ax.plot(study.Ns, exact, color=color, label="exact expectation")
    ax.plot(study.Ns, study.asymptote, "--", color="0.3", label=r"$\sigma^2 d / (2N)$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.minorticks_off()  # three decades: the major ticks suffice, and minor ones are slow
    ax.set_xlabel("training examples $N$")
    ax.set_ylabel("risk difference")
    title = rf"least squares, $d = {study.d}$, $\sigma = {study.sigma}$, "
    ax.set_title(title + rf"{study.seeds} data sets per $N$")
    ax.legend(loc="lower left")


# --- the classification figures: drawing only, from what the notebook computed ---------


def surrogate_losses(problem, t) -> dict:
    """The losses of a margin t = (2y - 1) x^T w: the 0-1 loss, the logistic loss in nats
    (the library's, ``problem.loss``) and in bits, and the hinge loss."""
    nats = problem.loss(t, np.ones_like(t))  # log(1 + exp(-t))
    return {
        "t": t,
        "zero_one": (t <= 0).astype(float),
        "logistic_bits": nats / np.log(2),
        "logistic_nats": nats,
        "hinge": np.maximum(0.0, 1 - t),
    }


def draw_surrogates(ax, losses: dict) -> None:
    """The 0-1 loss against its surrogates (:func:`surrogate_losses`) over the margin."""
    t = losses["t"]
    ax.plot(t, losses["zero_one"], color="black", label=r"0-1 loss $\mathbb{1}\{t \leq 0\}$")
    curves = [
        ("logistic_bits", r"logistic, bits: $\log_2(1 + e^{-t})$"),
        ("logistic_nats", r"logistic, nats: $\ln(1 + e^{-t})$ (the NLL)"),
        ("hinge", r"hinge: $\max(0, 1 - t)$"),
    ]
    for i, (key, label) in enumerate(curves):
        style = {"color": plot.PALETTE[i], "marker": plot.MARKERS[i], "markevery": 60}
        ax.plot(t, losses[key], label=label, **style)
    ax.set_xlabel(r"margin $t = (2y - 1)\, x^\top w$ (positive: correct side)")
    ax.set_ylabel("loss")
    ax.set_ylim(-0.1, 4.0)
    ax.legend(loc="upper right")


def draw_surrogate_training(axes, curves: dict) -> None:
    """Two panels along a gradient-descent path, against the step k + 1 (log axes): the
    training and true NLL with the best NLL risk, and the training error, the true error
    rate and its calibration bound with the Bayes error rate. ``curves`` holds the
    arrays ``nll_train``, ``nll_true``, ``err_train``, ``err_true``, ``calibration_bound``
    and the numbers ``bayes_nll``, ``bayes_err``."""
    ax_nll, ax_err = axes
    k = np.arange(1, len(curves["nll_train"]) + 1)  # step k + 1, for a log axis
    style = [
        {"color": plot.PALETTE[i], "marker": plot.MARKERS[i], "markevery": 0.08} for i in range(3)
    ]
    ax_nll.plot(
        k, curves["nll_train"], label=r"training NLL $\tilde J(w_k)$ (optimized)", **style[0]
    )
    ax_nll.plot(k, curves["nll_true"], label=r"true NLL risk $J(w_k)$", **style[1])
    ax_nll.axhline(curves["bayes_nll"], color="0.3", linestyle=":", label=r"$J(w^\star)$, the best")
    ax_nll.set_ylabel("negative log-likelihood (nats)")
    ax_nll.set_title("the surrogate")
    ax_err.plot(k, curves["err_train"], label="training error", **style[0])
    ax_err.plot(k, curves["err_true"], label="true error rate", **style[1])
    bound = np.minimum(curves["calibration_bound"], 1)
    ax_err.plot(k, bound, label="calibration bound", **style[2])
    ax_err.axhline(curves["bayes_err"], color="0.3", linestyle=":", label="Bayes error rate")
    ax_err.set_ylabel("0-1 loss (fraction misclassified)")
    ax_err.set_title("what we care about")
    ax_err.set_ylim(0.14, 2.0)  # room above the curves for the legend
    for ax in axes:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("gradient descent step $k + 1$")
        ax.legend(loc="upper right")


def draw_separable(axes, problem, run, k0: int, err_train, err_true, bayes_err) -> None:
    """Separable data: the points with the Bayes boundary and the boundaries at step
    ``k0`` (training error 0) and at the end of ``run``; then the training NLL, the
    training error (until it is 0) and the true error rate against the step."""
    ax_data, ax_curves = axes
    path = run.thetas
    for label_value, marker, i in ((0, "o", 0), (1, "s", 1)):
        pts = problem.X[problem.y == label_value]
        style = {"color": plot.PALETTE[i], "linestyle": "none"}
        ax_data.plot(pts[:, 0], pts[:, 1], marker, label=f"$y = {label_value}$", **style)
    span = np.array([-4.0, 4.0])
    boundaries = (
        (problem.w_true, r"Bayes boundary ($w^\star$)", "black", ":"),
        (path[k0], f"step {k0} (training error reaches 0)", plot.PALETTE[3], "--"),
        (path[-1], f"step {len(path) - 1}", plot.PALETTE[2], "-"),
    )
    for w, label, color, ls in boundaries:
        direction = np.array([-w[1], w[0]]) / np.linalg.norm(w)  # the boundary x^T w = 0
        ax_data.plot(
            span * direction[0], span * direction[1], color=color, linestyle=ls, label=label
        )
    ax_data.set_xlim(-3, 3)
    ax_data.set_ylim(-3, 3)
    ax_data.set_aspect("equal")
    ax_data.set_xlabel("$x_1$")
    ax_data.set_ylabel("$x_2$")
    ax_data.set_title("data and decision boundaries")
    handles, labels = ax_data.get_legend_handles_labels()
    ax_data.figure.legend(handles, labels, loc="outside lower left", ncols=3)

    k = np.arange(1, len(path) + 1)
    every = {"markevery": 0.1}
    ax_curves.plot(k, run.losses, color=plot.PALETTE[0], marker="o", label="training NLL", **every)
    ax_curves.plot(
        k[:k0], err_train[:k0], color=plot.PALETTE[4], marker="v", label="training error (0 after)"
    )
    ax_curves.plot(k, err_true, color=plot.PALETTE[1], marker="s", label="true error rate", **every)
    ax_curves.axhline(bayes_err, color="0.3", linestyle=":", label="Bayes error rate")
    ax_curves.axvline(k0 + 1, color=plot.PALETTE[3], linestyle="--", linewidth=1)
    ax_curves.set_xscale("log")
    ax_curves.set_yscale("log")
    ax_curves.minorticks_off()  # decades suffice; minor log ticks are slow to draw
    ax_curves.set_xlabel("step $k + 1$")
    ax_curves.set_ylabel("loss or error rate")
    ax_curves.set_title("after zero training error")
    ax_curves.legend(loc="upper right")


def draw_minibatch_variance(ax, problem, w, batch_sizes, variance: dict, draws: int) -> None:
    """:func:`compute_minibatch_variance`'s measurements (bars of two standard errors)
    over the exact variance at every batch size and the with-replacement s^2 / m."""
    N = problem.N
    m_all = np.unique(np.geomspace(1, N - 1, 80).astype(int))
    exact = [problem.minibatch_variance(w, int(m)) for m in m_all]
    label = r"exact: $\frac{N - m}{m(N - 1)}\, s^2$ (without replacement)"
    ax.plot(m_all, exact, color=plot.PALETTE[0], label=label)
    s2 = problem.minibatch_variance(w, 1)
    ax.plot(m_all, s2 / m_all, "--", color="0.3", label=r"$s^2 / m$ (with replacement)")
    ax.errorbar(
        batch_sizes,
        variance["measured"],
        yerr=2 * variance["se"],
        fmt="s",
        color=plot.PALETTE[1],
        capsize=3,
        label=f"measured, {draws} minibatches each",
    )
    ax.axvline(N, color="0.5", linestyle=":", linewidth=1)
    note = {"xytext": (-6, 0), "textcoords": "offset points", "ha": "right", "fontsize": 9}
    ax.annotate("$m = N$: variance 0", (N, 0.02), color="0.3", **note)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.minorticks_off()  # decades suffice; minor log ticks are slow to draw
    ax.set_xlabel("batch size $m$")
    ax.set_ylabel(r"$\mathbb{E}\,\|\hat g - \nabla \tilde J\|^2$")
    ax.set_title(f"minibatch gradient variance, logistic regression, N = {N}")
    ax.legend(loc="lower left")


def draw_budget_runs(ax, runs, f_star: float) -> None:
    """SGD runs with one budget of examples, against the examples seen: the first run
    (m = 1, jagged) thin and faint, so that the others stay visible."""
    noisy = runs[0]
    steps = np.arange(noisy.steps + 1)
    style = {"color": plot.PALETTE[3], "linewidth": 0.6, "alpha": 0.6}
    ax.plot(steps, noisy.losses - f_star, label=noisy.label, **style)
    plot.convergence(ax, runs[1:], measure="loss_gap", x="examples")
    ax.set_ylabel(r"training NLL $-$ its minimum")
    ax.set_ylim(2e-4, 5)  # room below the curves for the legend
    ax.minorticks_off()  # decades suffice; minor log ticks are slow to draw


def draw_erratum(ax, runs, dotted) -> None:
    """The training NLL of ``runs`` against the step, and the run ``dotted`` on top of
    them as a thick dotted line (it coincides with one of them)."""
    plot.convergence(ax, runs, measure="loss", labels=[run.label for run in runs])
    steps = np.arange(dotted.steps + 1)
    ax.plot(steps, dotted.losses, ":", color="black", linewidth=2.2, label=dotted.label)
    ax.set_ylabel(r"training NLL $\tilde J(\theta_k)$")
    ax.set_ylim(0.2, 1e5)  # room above the curves for the legend
    ax.minorticks_off()  # decades suffice; minor log ticks are slow to draw
    ax.legend(loc="upper left")
