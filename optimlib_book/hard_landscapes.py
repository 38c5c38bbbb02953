"""Chapter 2, "What makes optimization hard": each difficulty computed, then drawn.

Every experiment of the chapter is a ``compute_*`` function that returns numbers (numpy
only, unit-tested without matplotlib) and, where it has a figure, a ``draw_*`` function
that draws those numbers into the Axes it is given:

* overflow: :func:`compute_float_limits`, :func:`compute_softmax_failures`;
* ill-conditioning: :func:`compute_amplifications`, :func:`compute_solve_errors`;
* saddles and plateaus: :func:`compute_saddle_escapes`,
  :func:`compute_positive_definite_fractions`, :func:`compute_plateau`;
* cliffs: :func:`compute_cliff`; the cost of a full gradient: :func:`compute_gradient_cost`.

* :func:`escape_step` and :func:`predicted_escape`: how long gradient descent lingers
  near the saddle of :class:`optimlib.problems.Saddle`, measured and predicted.
* :func:`saddle_panel`: the chapter's explorer: the iterates of gradient descent started
  a distance ``offset`` off the saddle's stable axis, every iterate drawn, so that the
  ones piling up near the saddle show the time lost there.

It imports matplotlib only when the panel is drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from optimlib import nn
from optimlib.optimizers import SGD
from optimlib.problems import Cliff, LinearRegression, Quadratic, Saddle, SaturatedUnit
from optimlib.run import History, minimize

from .notebook import scientific


def escape_step(history: History, threshold: float = 0.5) -> int | None:
    """The first k with |theta_k[1]| >= threshold: when a run on the saddle has left it.

    ``None`` when the run never got that far (for instance, started exactly on the
    stable axis y = 0, where gradient descent converges to the saddle).
    """
    hits = np.flatnonzero(np.abs(history.thetas[:, 1]) >= threshold)
    return int(hits[0]) if hits.size else None


def predicted_escape(offset, eps, b=1.0, threshold=0.5, refined=True):
    """The number of gradient-descent steps from |y_0| = offset to |y| = threshold.

    On f = a/2 x^2 - b/2 y^2 + b/4 y^4 the y-coordinate of gradient descent obeys
    y_{k+1} = y_k + eps b (y_k - y_k^3). Near the saddle, y_k ~ (1 + eps b)^k y_0, so

        K = ln(threshold / offset) / ln(1 + eps b)                    (refined=False).

    The cubic term slows the last part of the escape. The gradient flow
    dy/dt = b (y - y^3) keeps y^2 / (1 - y^2) proportional to exp(2 b t); writing the
    growth b t of the flow as the growth k ln(1 + eps b) of the steps gives

        K = ln[threshold sqrt(1 - offset^2) / (offset sqrt(1 - threshold^2))]
            / ln(1 + eps b)                                            (refined=True),

    within one step of the first k with |y_k| >= threshold for eps b <= 0.3 (tested).
    ``offset`` may be an array.
    """
    offset = np.asarray(offset, dtype=np.float64)
    ratio = threshold / offset
    if refined:
        ratio = ratio * np.sqrt((1 - offset**2) / (1 - threshold**2))
    steps = np.log(ratio) / math.log1p(eps * b)
    return float(steps) if steps.ndim == 0 else steps


def offset_title(offset) -> str:
    """ "y₀ = 10⁻⁶": the title of a static-twin panel started ``offset`` (a power of ten)
    off the saddle's stable axis."""
    return "y₀ = " + scientific(offset, 0).removeprefix("1 × ")


def saddle_panel(ax, offset=1e-6, eps=0.1, b=1.0, threshold=0.5, steps=None) -> dict:
    """Gradient descent on :class:`~optimlib.problems.Saddle` from (1, offset), every iterate.

    Draws the contours, the two minima, the saddle, the lines |y| = threshold, and each
    iterate as a dot: where the dots crowd, the run is slow. Runs ``steps`` steps (by
    default 40 past the predicted escape). Returns ``escape_step`` (measured, or None),
    ``predicted`` (:func:`predicted_escape`), ``near_saddle`` (how many iterates lie
    within 0.1 of the saddle), ``loss_gap`` (f - f* at the end) and ``history``.
    """
    offset = float(offset)
    predicted = predicted_escape(offset, eps, b=b, threshold=threshold)
    problem = Saddle(b=b)
    if not eps * max(problem.a, 2 * problem.b) < 2:
        raise ValueError(
            f"eps must be below 2 / max(a, 2b) = {2 / max(problem.a, 2 * problem.b):g}, "
            f"or gradient descent is unstable at the minima; got {eps}"
        )
    if steps is None:
        steps = math.ceil(predicted) + 40
    history = minimize(problem, SGD(lr=eps), steps=steps, x0=[1.0, offset], label="GD")
    escape = escape_step(history, threshold)

    from . import plot  # lazily: matplotlib

    plot.contour(ax, problem, mark_min=False, resolution=160)
    for y in (-threshold, threshold):
        ax.axhline(y, color="0.5", linestyle="--", linewidth=0.8)
    ax.plot(*problem.minima.T, marker="*", color="black", markersize=12, linestyle="none")
    ax.plot(0, 0, marker="X", color="black", markersize=8, linestyle="none")
    thetas = history.thetas
    color = plot.PALETTE[0]
    ax.plot(thetas[:, 0], thetas[:, 1], color=color, linewidth=0.8)
    ax.plot(thetas[:, 0], thetas[:, 1], "o", color=color, markersize=2.5)
    ax.plot(*thetas[0], "o", color=color, markersize=7, markerfacecolor="white")
    if escape is not None:
        ax.plot(*thetas[escape], "s", color=plot.PALETTE[1], markersize=7, zorder=6)
        text = f"escaped at step {escape}\n(predicted {predicted:.1f})"
    else:
        text = f"not escaped in {history.steps} steps\n(predicted {predicted:.1f})"
    ax.text(
        0.03,
        0.03,
        text,
        transform=ax.transAxes,
        fontsize=10,
        va="bottom",
        bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 2},
    )
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    near = int(np.sum(np.linalg.norm(thetas - problem.saddle_point, axis=1) < 0.1))
    return {
        "escape_step": escape,
        "predicted": predicted,
        "near_saddle": near,
        "loss_gap": float(history.losses[-1] - problem.f_star),
        "history": history,
    }


# --- Overflow and underflow -------------------------------------------------------------

FORMATS = {"float16": np.float16, "float32": np.float32, "float64": np.float64}


@dataclass
class FloatLimits:
    """The range of one floating-point format, and where exp leaves it."""

    largest: float
    smallest_normal: float
    smallest_subnormal: float
    eps: float
    ln_max: float  # exp(z) overflows above this
    ln_zero: float  # exp(z) rounds to 0 below this (half the smallest subnormal)


def compute_float_limits() -> dict[str, FloatLimits]:
    """:class:`FloatLimits` of float16, float32 and float64, from ``np.finfo``."""
    limits = {}
    for name, dtype in FORMATS.items():
        info = np.finfo(dtype)
        tiny = float(info.smallest_subnormal)
        limits[name] = FloatLimits(
            largest=float(info.max),
            smallest_normal=float(info.smallest_normal),
            smallest_subnormal=tiny,
            eps=float(info.eps),
            ln_max=math.log(float(info.max)),
            ln_zero=math.log(tiny) - math.log(2),
        )
    return limits


def format_float_limits(limits: dict[str, FloatLimits]) -> str:
    """The table of :func:`compute_float_limits`, one format a row."""
    head = (
        f"{'format':8} {'largest':>10} {'min normal':>11} {'min subnormal':>14} "
        f"{'eps':>9} {'ln(largest)':>12}"
    )
    rows = [
        f"{name:8} {f.largest:10.3e} {f.smallest_normal:11.3e} "
        f"{f.smallest_subnormal:14.3e} {f.eps:9.2e} {f.ln_max:12.2f}"
        for name, f in limits.items()
    ]
    return "\n".join([head, *rows])


def normal_cdf(x):
    """The standard normal distribution function Phi, elementwise."""
    return 0.5 * (1 + np.vectorize(math.erf)(np.asarray(x, dtype=float) / math.sqrt(2)))


@dataclass
class SoftmaxFailures:
    """How often softmax fails on random logits, measured and predicted, per format."""

    scales: np.ndarray
    rows: int
    n_classes: int
    naive: dict[str, np.ndarray]  # fraction of failing rows, naive formula
    stable: dict[str, np.ndarray]  # the same for ol.nn.softmax
    theory: dict[str, np.ndarray]  # 1 - Phi(ln(largest) / s)^n
    z_half: float  # Phi(z_half)^n = 1/2: half the rows fail at s = ln(largest) / z_half

    def half_scale(self, name: str, limits: dict[str, FloatLimits]) -> float:
        return limits[name].ln_max / self.z_half


def compute_softmax_failures(limits, rows=2000, n_classes=10, scales=None, seed=2):
    """Naive and stable softmax on ``rows`` logit vectors N(0, s^2) at every scale s.

    A row fails when any entry is NaN or differs by more than 0.01 from the float64
    stable softmax of the same (rounded) logits. The naive formula overflows once the
    largest logit passes a = ln(largest float): probability 1 - Phi(a / s)^n.
    """
    scales = np.geomspace(1.0, 1e4, 33) if scales is None else np.asarray(scales)
    base = np.random.default_rng(seed).standard_normal((rows, n_classes))

    def failing(p, reference):
        return np.mean(~np.all(np.abs(p.astype(np.float64) - reference) < 1e-2, axis=1))

    naive, stable, theory = {}, {}, {}
    for name, dtype in FORMATS.items():
        logits = [(s * base).astype(dtype) for s in scales]
        references = [nn.softmax(z.astype(np.float64)) for z in logits]
        naive[name] = np.array(
            [failing(nn.naive_softmax(z), r) for z, r in zip(logits, references, strict=True)]
        )
        stable[name] = np.array(
            [failing(nn.softmax(z), r) for z, r in zip(logits, references, strict=True)]
        )
        theory[name] = 1 - normal_cdf(limits[name].ln_max / scales) ** n_classes
    lo, hi = 0.0, 10.0
    for _ in range(60):  # bisection for Phi(z)^n = 1/2
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if normal_cdf(mid) ** n_classes < 0.5 else (lo, mid)
    return SoftmaxFailures(scales, rows, n_classes, naive, stable, theory, lo)


def draw_softmax_failures(ax, result: SoftmaxFailures):
    """Measured failure fractions (markers) against their theory (dashed), per format."""
    from . import plot

    for name, color, marker in zip(FORMATS, plot.PALETTE, plot.MARKERS, strict=False):
        label = f"naive, {name} (measured)"
        ax.plot(
            result.scales,
            result.naive[name],
            color=color,
            marker=marker,
            linestyle="none",
            label=label,
        )
        ax.plot(result.scales, result.theory[name], color=color, linestyle="--", linewidth=1.2)
    stable = result.stable["float16"]
    ax.plot(result.scales, stable, color="black", linewidth=2.2, label="stable, all three formats")
    ax.plot([], [], color="0.4", linestyle="--", label="theory 1 − Φ(a/s)¹⁰")
    ax.set_xscale("log")
    ax.set_xlabel("logit scale s (standard deviation of the logits)")
    ax.set_ylabel("fraction of rows that fail")
    ax.set_title("Naive softmax fails once the largest logit passes ln(largest float)")
    ax.legend(loc="center right")


# --- Ill-conditioning -------------------------------------------------------------------


@dataclass
class Amplifications:
    """Relative-error amplification of a linear solve: the worst case and random pairs."""

    kappa: float  # np.linalg.cond(A)
    worst: float  # b along v_max, db along v_min
    random: np.ndarray  # one per random pair (b, db)


def compute_amplifications(system, pairs=2000, rng=None) -> Amplifications:
    """``system.amplification`` in the worst directions and for ``pairs`` random pairs."""
    rng = np.random.default_rng() if rng is None else rng
    V = system.eigenvectors  # ascending: V[:, 0] flattest, V[:, -1] steepest
    worst = system.amplification(V[:, -1], 1e-6 * V[:, 0])
    n = system.dim
    amps = [
        system.amplification(rng.standard_normal(n), 1e-6 * rng.standard_normal(n))
        for _ in range(pairs)
    ]
    return Amplifications(float(np.linalg.cond(system.A)), float(worst), np.array(amps))


def compute_solve_errors(kappas, dim=10, rng=None) -> np.ndarray:
    """Relative error of ``np.linalg.solve`` for a known x, on an SPD A per condition number."""
    rng = np.random.default_rng() if rng is None else rng
    errors = []
    for kappa in kappas:
        A = Quadratic.with_condition_number(kappa, dim=dim, rng=rng).A
        x_true = rng.standard_normal(dim)
        x_hat = np.linalg.solve(A, A @ x_true)
        errors.append(np.linalg.norm(x_hat - x_true) / np.linalg.norm(x_true))
    return np.array(errors)


# --- Saddle points and plateaus ---------------------------------------------------------


@dataclass
class SaddleEscapes:
    """Gradient descent from (1, y0) on the saddle, for many offsets y0, and from y0 = 0."""

    eps: float
    offsets: np.ndarray
    escapes: np.ndarray  # first k with |y_k| >= 1/2, per offset
    refined: np.ndarray  # predicted_escape, with the cubic term
    linear: np.ndarray  # predicted_escape, linear model only
    slope: float  # fitted escape steps per factor e in 1/y0
    slope_theory: float  # 1 / ln(1 + eps b)
    runs: dict  # offset -> History
    stuck: History  # started on the stable axis, y0 = 0


def compute_saddle_escapes(eps=0.1, offsets=None, stuck_steps=300) -> SaddleEscapes:
    """Escape steps of gradient descent from the saddle of ``Saddle()``, measured and predicted."""
    saddle = Saddle()
    offsets = 10.0 ** -np.arange(1, 13) if offsets is None else np.asarray(offsets)
    runs = {}
    for y0 in offsets:
        steps = math.ceil(predicted_escape(y0, eps)) + 60
        runs[y0] = minimize(saddle, SGD(lr=eps), steps=steps, x0=[1.0, y0])
    escapes = np.array([escape_step(run) for run in runs.values()])
    slope = float(np.polyfit(np.log(1 / offsets), escapes, 1)[0])
    stuck = minimize(saddle, SGD(lr=eps), steps=stuck_steps, x0=[1.0, 0.0])
    return SaddleEscapes(
        eps=eps,
        offsets=offsets,
        escapes=escapes,
        refined=predicted_escape(offsets, eps),
        linear=predicted_escape(offsets, eps, refined=False),
        slope=slope,
        slope_theory=1 / math.log1p(eps * saddle.b),
        runs=runs,
        stuck=stuck,
    )


def smallest_gradient_before_escape(history: History):
    """(k, ||g_k||, f_k - f*) at the smallest gradient norm before the run escaped."""
    before = history.grad_norms[: escape_step(history)]
    k = int(np.argmin(before))
    return k, float(before[k]), float(history.losses[k] - Saddle().f_star)


def draw_saddle_escape(ax_loss, ax_esc, result: SaddleEscapes, shown=(1e-2, 1e-6, 1e-10)):
    """``ax_loss``: loss gaps of a few runs and the stuck one; ``ax_esc``: the escape step
    against the decades of the offset."""
    from . import plot

    runs = [result.runs[y0] for y0 in shown] + [result.stuck]
    labels = [f"y₀ = 10{_superscript(round(math.log10(y0)))}" for y0 in shown]
    plot.convergence(ax_loss, runs, measure="loss_gap", labels=[*labels, "y₀ = 0 (never escapes)"])
    ax_loss.axhline(Saddle().b / 4, color="0.5", linestyle=":", linewidth=1)
    ax_loss.set_xlim(0, result.stuck.steps)
    ax_loss.set_title("The loss sits at the saddle's value, then drops")
    decades = np.log10(1 / result.offsets)
    ax_esc.plot(
        decades,
        result.escapes,
        "o",
        color=plot.PALETTE[0],
        markersize=7,
        label="measured escape step",
    )
    ax_esc.plot(
        decades,
        result.refined,
        color="black",
        linestyle="--",
        linewidth=1.2,
        label="prediction with the cubic term",
    )
    ax_esc.plot(
        decades,
        result.linear,
        color=plot.PALETTE[1],
        linestyle=":",
        linewidth=1.4,
        label="linear model only",
    )
    ax_esc.set_xlabel("log₁₀(1/y₀): decades closer to the stable axis")
    ax_esc.set_ylabel("first k with |yₖ| ≥ 1/2")
    ax_esc.set_title(f"Escape time, linear in ln(1/y₀) (slope {result.slope:.2f})")
    ax_esc.legend(loc="upper left")


def _superscript(n: int) -> str:
    return str(n).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))


def compute_positive_definite_fractions(dims, samples=20000, rng=None) -> np.ndarray:
    """Fraction of random symmetric Gaussian n-by-n matrices with all eigenvalues > 0."""
    rng = np.random.default_rng() if rng is None else rng
    fractions = []
    for n in dims:
        G = rng.standard_normal((samples, n, n))
        H = (G + np.swapaxes(G, 1, 2)) / 2
        fractions.append(float(np.mean(np.linalg.eigvalsh(H)[:, 0] > 0)))
    return np.array(fractions)


@dataclass
class Plateau:
    """Gradient descent on one saturated tanh unit, for several starting biases beta."""

    eps: float
    betas: list
    runs: list  # History per beta, stopped once the loss is below 1/2
    durations: np.ndarray  # T: steps until the loss fell below 1/2
    step_lengths: np.ndarray  # eps ||g|| at k = T // 10
    predicted_steps: np.ndarray  # 2 eps |w2| sech^2(beta) at the same k
    losses_at_tenth: np.ndarray  # f at k = T // 10

    @property
    def cosh2(self) -> np.ndarray:
        return np.cosh(self.betas) ** 2

    @property
    def ratios(self) -> np.ndarray:
        return self.durations / self.cosh2

    def slope(self, first: int = 1) -> float:
        """Log-log slope of T against cosh^2(beta), from ``betas[first]`` on."""
        return float(np.polyfit(np.log(self.cosh2[first:]), np.log(self.durations[first:]), 1)[0])

    def table(self) -> str:
        head = (
            f"{'beta':>4} {'T':>6} {'cosh^2(beta)':>13} {'T / cosh^2':>11} "
            f"{'step at T/10':>13} {'2 eps |w2| sech^2':>18}"
        )
        rows = [
            f"{b:4.0f} {T:6d} {c:13.1f} {T / c:11.3f} {s:13.2e} {p:18.2e}"
            for b, T, c, s, p in zip(
                self.betas,
                self.durations,
                self.cosh2,
                self.step_lengths,
                self.predicted_steps,
                strict=True,
            )
        ]
        slope = f"log-log slope of T against cosh^2(beta), beta >= 2: {self.slope():.3f}"
        return "\n".join([head, *rows, slope])


def compute_plateau(betas=(1.0, 2.0, 3.0, 4.0), eps=0.2, steps=4000) -> Plateau:
    """Runs on ``SaturatedUnit(beta)`` until the loss is below 1/2, and their plateau steps."""
    runs, lengths, predicted, losses = [], [], [], []
    for beta in betas:
        unit = SaturatedUnit(beta)
        history = minimize(unit, SGD(lr=eps), steps=steps, tol=0.5, label=f"β = {beta:g}")
        k = history.steps // 10
        runs.append(history)
        lengths.append(eps * history.grad_norms[k])
        predicted.append(eps * unit.plateau_gradient(w2=history.thetas[k][2]))
        losses.append(history.losses[k])
    durations = np.array([run.steps for run in runs])
    return Plateau(
        eps, list(betas), runs, durations, np.array(lengths), np.array(predicted), np.array(losses)
    )


def draw_plateau(ax_loss, ax_step, result: Plateau):
    """``ax_loss``: the loss of each run; ``ax_step``: its step length, with
    eps sech^2(beta) dotted."""
    from . import plot

    styles = zip(result.runs, result.betas, plot.PALETTE, plot.MARKERS, strict=False)
    for history, beta, color, marker in styles:
        k = np.arange(1, len(history.losses) + 1)
        style = dict(color=color, marker=marker, markevery=0.1, label=f"β = {beta:g}")
        ax_loss.plot(k, history.losses, **style)
        ax_step.plot(k[:-1], result.eps * history.grad_norms, **style)
        level = result.eps / math.cosh(beta) ** 2
        ax_step.axhline(level, color=color, linestyle=":", linewidth=1)
    ax_loss.axhline(1.0, color="0.5", linestyle=":", linewidth=1)
    for ax in (ax_loss, ax_step):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("step k + 1")
    ax_loss.set_ylabel("loss f(θₖ)")
    ax_loss.set_title("The loss sits at 1 for a time ∝ cosh²β")
    ax_loss.legend(loc="lower left")
    ax_step.set_ylabel("step length ε‖gₖ‖")
    ax_step.set_title("The step collapses to ≈ ε sech²β (dotted)")


# --- Cliffs -----------------------------------------------------------------------------


@dataclass
class CliffRun:
    """Gradient descent on :class:`~optimlib.problems.Cliff`, plain and clipped."""

    cliff: Cliff
    eps: float
    plain: History
    clipped: History
    k_face: int  # the step taken from the cliff face (the longest jump)
    jump: float  # its length
    g_face: float  # the gradient norm there
    g_before: float  # the largest gradient norm before it
    longest_clipped: float  # the longest step of the clipped run

    @property
    def plot_width(self) -> float:
        (x_lo, x_hi), _ = self.cliff.bounds
        return x_hi - x_lo

    def report(self) -> str:
        start, end = (np.array2string(t, precision=3) for t in self.plain.thetas[self.k_face :][:2])
        return "\n".join(
            [
                f"step {self.k_face}: from theta = {start} (on the face, |g| = {self.g_face:.1f})",
                f"  to theta = {end}: a jump of "
                f"{self.jump:.2f}; the plot is {self.plot_width:.1f} wide, "
                f"the face {self.cliff.width:.1f}",
                f"largest gradient on the way there: {self.g_before:.3f} "
                f"(ratio {self.g_face / self.g_before:.0f})",
                f"after {self.plain.steps} steps: f - f* = {self.plain.loss_gaps()[-1]:.2e} "
                f"(plain), {self.clipped.loss_gaps()[-1]:.2e} (clipped)",
            ]
        )


def compute_cliff(eps=0.1, steps=60, max_norm=1.0) -> CliffRun:
    """Gradient descent with step ``eps`` on ``Cliff()``, without and with clipping."""
    cliff = Cliff()
    plain = minimize(cliff, SGD(lr=eps), steps=steps, label="gradient descent")
    clipped = minimize(
        cliff,
        SGD(lr=eps),
        steps=steps,
        max_norm=max_norm,
        label=f"gradient clipped to norm {max_norm:g}",
    )
    jumps = np.linalg.norm(np.diff(plain.thetas, axis=0), axis=1)
    k_face = int(np.argmax(jumps))
    clipped_jumps = np.linalg.norm(np.diff(clipped.thetas, axis=0), axis=1)
    return CliffRun(
        cliff=cliff,
        eps=eps,
        plain=plain,
        clipped=clipped,
        k_face=k_face,
        jump=float(jumps[k_face]),
        g_face=float(plain.grad_norms[k_face]),
        g_before=float(plain.grad_norms[:k_face].max()),
        longest_clipped=float(clipped_jumps.max()),
    )


def draw_cliff(ax_cut, ax_map, result: CliffRun):
    """``ax_cut``: a cross-section through the cliff with the iterates; ``ax_map``: both
    runs' paths."""
    from . import plot

    cliff, thetas, k = result.cliff, result.plain.thetas, result.k_face
    (x_lo, x_hi), _ = cliff.bounds
    y_cut = thetas[k][1]
    xs = np.linspace(x_lo, x_hi, 1200)
    section = cliff.f(np.stack([xs, np.full_like(xs, y_cut)], axis=-1))
    ax_cut.plot(xs, section, color="0.3", label=f"f(θ₁, {y_cut:.2f})")
    visited = thetas[: k + 1]
    ax_cut.plot(
        visited[:, 0],
        cliff.f(visited),
        "o",
        color=plot.PALETTE[0],
        markersize=5,
        label=f"iterates of steps 0 to {k}",
    )
    x_face, f_face = thetas[k][0], cliff.f(thetas[k])
    ax_cut.annotate(
        f"next iterate at\nθ₁ = {thetas[k + 1][0]:.1f} →",
        xy=(x_hi, f_face),
        xytext=(x_face + 0.15, f_face + 4),
        arrowprops=dict(arrowstyle="->", color=plot.PALETTE[1]),
        color=plot.PALETTE[1],
        fontsize=9,
    )
    ax_cut.set_xlim(x_lo, x_hi)
    ax_cut.set_xlabel("θ₁")
    ax_cut.set_ylabel("f")
    ax_cut.set_title("A cross-section through the cliff")
    ax_cut.legend(loc="lower left")
    plot.trajectories(ax_map, cliff, [result.plain, result.clipped])
    ax_map.set_title("Thrown off the map, or clipped")


# --- The cost of a full gradient --------------------------------------------------------


@dataclass
class GradientCost:
    """Per-example gradients that full-batch GD and minibatch SGD need, against N."""

    Ns: list
    m: int
    gd_steps: np.ndarray
    gd_cost: np.ndarray  # examples read by full-batch gradient descent
    sgd_cost: np.ndarray  # median over seeds of the examples read by minibatch SGD

    @property
    def slopes(self) -> tuple[float, float]:
        """Log-log slopes of the two costs against N."""
        logN = np.log(self.Ns)
        return (
            float(np.polyfit(logN, np.log(self.gd_cost), 1)[0]),
            float(np.polyfit(logN, np.log(self.sgd_cost), 1)[0]),
        )

    def table(self) -> str:
        head = f"{'N':>7} {'GD steps':>9} {'GD examples':>12} {'SGD examples (median of 5)':>27}"
        rows = [
            f"{N:7d} {s:9d} {g:12d} {c:27.0f}"
            for N, s, g, c in zip(self.Ns, self.gd_steps, self.gd_cost, self.sgd_cost, strict=True)
        ]
        gd, sgd = self.slopes
        last = f"log-log slopes against N: full batch {gd:.3f}, minibatch {sgd:.3f}"
        return "\n".join([head, *rows, last])


def compute_gradient_cost(Ns=(100, 1_000, 10_000), m=10, eps=0.05, target=0.01, seeds=5):
    """Work to bring least squares' loss gap to ``target`` times its start, per N.

    Full-batch gradient descent takes the best step 2 / (mu + L) of each data set's
    Hessian; minibatch SGD takes ``eps`` with batches of ``m`` (median over seeds).
    """
    gd_steps, gd_cost, sgd_cost = [], [], []
    for N in Ns:
        data = LinearRegression.synthetic(N, 10, np.random.default_rng(N), kappa=10)
        curvatures = np.linalg.eigvalsh(data.hess(data.x0))
        tol = target * (data.f(data.x0) - data.f_star)
        lr = 2 / (curvatures[0] + curvatures[-1])
        full = minimize(data, SGD(lr=lr), steps=1000, tol=tol)
        minis = [
            minimize(
                data,
                SGD(lr=eps),
                steps=10_000,
                tol=tol,
                batch_size=m,
                rng=np.random.default_rng(seed),
            )
            for seed in range(seeds)
        ]
        for run in [full, *minis]:
            if run.stop_reason != "tolerance":
                raise RuntimeError(f"N = {N}: a run did not reach the target")
        gd_steps.append(full.steps)
        gd_cost.append(full.examples)
        sgd_cost.append(float(np.median([run.examples for run in minis])))
    return GradientCost(list(Ns), m, np.array(gd_steps), np.array(gd_cost), np.array(sgd_cost))


def draw_gradient_cost(ax, result: GradientCost):
    """Per-example gradients against N, log-log, for both methods."""
    from . import plot

    ax.plot(
        result.Ns,
        result.gd_cost,
        color=plot.PALETTE[0],
        marker="o",
        label="full-batch gradient descent",
    )
    ax.plot(
        result.Ns,
        result.sgd_cost,
        color=plot.PALETTE[1],
        marker="s",
        label=f"minibatch SGD (m = {result.m})",
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of examples N")
    ax.set_ylabel("per-example gradients to reach 1% of the initial gap")
    ax.set_title("Full gradients cost ∝ N; minibatches do not")
    ax.legend(loc="upper left")
