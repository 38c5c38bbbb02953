"""Chapter 7, gradient clipping: the cliff and the exploding recurrence, computed and drawn.

Every experiment of the chapter is a ``compute_*`` function that returns numbers (numpy
only, unit-tested without matplotlib) and, where the chapter draws it, a
``draw_*(ax, result)`` function that draws what it returned.

The cliff (:class:`optimlib.problems.Cliff`, first shown in chapter 2):

* :func:`compute_cliff_step`: SGD with and without clipping, and what happens at the step
  taken from the face (its length, where it lands, the first-order model's prediction
  against the actual change); :func:`draw_cliff_steps` draws the runs step by step.
* :func:`panel`: the explorer, :func:`compute_cliff` + :func:`draw_cliff` for one threshold.
* :func:`compute_max_norm_sweep` / :func:`draw_max_norm_sweep`: steps to convergence for
  many thresholds, with the threshold above which the clipped run leaves the plot and the
  one above which clipping never acts.

Clipping by norm against clipping by value: :func:`compute_clipping_arrows` /
:func:`draw_clipping_arrows` for one 2-D gradient, :func:`compute_clip_angles` for many,
:func:`extremal_angle` for the worst case in n dimensions.

The exploding gradient of a deep product (Pascanu, Mikolov & Bengio 2013):

* :class:`optimlib.problems.LinearRecurrence` is the recurrence h_t = W h_{t-1} and its
  loss; :func:`quarter_turn` is the chapter's instance: learn a 2 x 2 W whose 20th power
  turns the plane by a quarter;
* :func:`compute_gradient_depth` / :func:`draw_gradient_depth`: the norm of the
  backpropagated signal against the depth, with its measured growth per step;
* :func:`compute_plane` / :func:`draw_plane`: the quarter-turn loss on the plane of scaled
  rotations W = a I + b J, where gradient descent from a scaled rotation stays, with runs;
* :func:`compute_lr_sweeps` / :func:`draw_lr_sweeps`: how runs end (converged, stalled on
  the plateau, diverged) over a range of step sizes, with and without clipping;
* :func:`compute_curvature_along_gain`: the largest curvature against the gradient norm
  along W = s I.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from optimlib import _checks
from optimlib.clipping import clip_by_norm, clip_by_value
from optimlib.optimizers import SGD
from optimlib.problems import Cliff, LinearRecurrence
from optimlib.problems.networks import backward, unroll
from optimlib.run import History, minimize, rate

from . import plot
from .linalg import spectral_radius

__all__ = [
    "TOL",
    "CliffStep",
    "Plane",
    "compute_cliff",
    "compute_cliff_step",
    "compute_clip_angles",
    "compute_clipping_arrows",
    "compute_curvature_along_gain",
    "compute_gradient_depth",
    "compute_lr_sweeps",
    "compute_max_norm_sweep",
    "compute_plane",
    "describe",
    "draw_cliff",
    "draw_cliff_steps",
    "draw_clipping_arrows",
    "draw_gradient_depth",
    "draw_lr_sweeps",
    "draw_max_norm_sweep",
    "draw_plane",
    "extremal_angle",
    "lr_sweep",
    "outcome",
    "panel",
    "plane_coordinates",
    "quarter_runs",
    "quarter_turn",
    "scaled_rotation",
    "step_lengths",
]

TOL = 1e-10  # a run has converged once f - f* <= TOL

_BOX = {"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "edgecolor": "0.7"}


def step_lengths(history: History) -> np.ndarray:
    """||theta_{k+1} - theta_k|| for every recorded step k (the run must keep its iterates)."""
    diff = np.diff(history.thetas.reshape(len(history.thetas), -1), axis=0)
    return np.linalg.norm(diff, axis=1)


def outcome(history: History, tol: float = TOL) -> str:
    """How a run ended: "converged" (f - f* <= tol), "diverged", or "stalled"."""
    if history.diverged:
        return "diverged"
    return "converged" if history.steps_to(tol) is not None else "stalled"


def describe(history: History) -> str:
    """A run's end in words: the step it diverged at, its final loss, or a bound on it
    (a loss below 1e-12 is rounding, which differs between machines)."""
    if history.diverged:
        return f"diverged at step {history.diverged_at}"
    if history.final_loss > 1e-12:
        return f"final loss {history.final_loss:.3g}"
    return "final loss below 1e-12"


# --- the cliff ---------------------------------------------------------------------------


def _cliff_runs(problem, lr, max_norm, steps, tol, clipped_label=None):
    plain = minimize(problem, SGD(lr=lr), steps, tol=tol, label="no clipping")
    label = clipped_label or f"clipped at max_norm = {max_norm:g}"
    clipped = minimize(problem, SGD(lr=lr), steps, max_norm=max_norm, tol=tol, label=label)
    return plain, clipped


@dataclass(frozen=True)
class CliffStep:
    """SGD on the cliff with and without clipping, and the unclipped run's step ``k`` from
    the face: gradient norms before it (``g_before``) and on it (``g_face``), its length
    ``jump``, where it lands (``x_far``), the loss gaps before and after it, how many
    iterates lie right of the plot box (``outside``), the first-order model's decrease
    ``predicted`` = eps ||g||^2 against the ``actual`` change of f, and the step lengths
    of both runs."""

    problem: Cliff
    lr: float
    max_norm: float
    plain: History
    clipped: History
    plain_steps: np.ndarray
    clipped_steps: np.ndarray
    k: int
    on_face: bool
    g_before: float
    g_face: float
    jump: float
    x_far: float
    box_width: float
    outside: np.ndarray
    gap_face: float
    gap_far: float
    predicted: float
    actual: float


def compute_cliff_step(problem: Cliff, lr: float, max_norm: float, steps: int) -> CliffStep:
    """Run SGD on ``problem`` plainly and clipped at ``max_norm``; measure the face's step."""
    plain, clipped = _cliff_runs(problem, lr, max_norm, steps, None)
    plain_steps, clipped_steps = step_lengths(plain), step_lengths(clipped)
    k = int(np.argmax(plain_steps))  # the step taken from the face
    (x_lo, x_hi), _ = problem.bounds
    theta_k, theta_next = plain.thetas[k], plain.thetas[k + 1]
    g_k = problem.grad(theta_k)
    gaps = plain.loss_gaps()
    return CliffStep(
        problem=problem,
        lr=lr,
        max_norm=max_norm,
        plain=plain,
        clipped=clipped,
        plain_steps=plain_steps,
        clipped_steps=clipped_steps,
        k=k,
        on_face=bool(abs(theta_k[0] - problem.position) < problem.width / 2),
        g_before=float(plain.grad_norms[:k].max()),
        g_face=float(plain.grad_norms[k]),
        jump=float(plain_steps[k]),
        x_far=float(theta_next[0]),
        box_width=float(x_hi - x_lo),
        outside=np.flatnonzero(plain.thetas[:, 0] > x_hi),
        gap_face=float(gaps[k]),
        gap_far=float(gaps[k + 1]),
        predicted=float(lr * g_k @ g_k),
        actual=float(problem.f(theta_next) - problem.f(theta_k)),
    )


def draw_cliff_steps(axes, result: CliffStep) -> None:
    """Three stacked panels: the loss gap, the step lengths (with the bound eps c dotted)
    and the raw gradient norms (with c dotted) of both runs, against the step."""
    gap_ax, step_ax, norm_ax = axes
    runs = [result.clipped, result.plain]
    plot.convergence(gap_ax, runs)
    gap_ax.set_title("loss gap")
    lengths = [result.clipped_steps, result.plain_steps]
    for run, steps, color, marker in zip(runs, lengths, plot.PALETTE, plot.MARKERS, strict=False):
        k = np.arange(len(steps))
        step_ax.plot(k, steps, color=color, marker=marker, markevery=16, label=run.label)
    bound = result.lr * result.max_norm
    step_ax.axhline(bound, color="0.3", linestyle=":", label=r"$\varepsilon c$")
    step_ax.set_yscale("log")
    step_ax.set_ylabel(r"$\|\theta_{k+1} - \theta_k\|$")
    step_ax.set_title("step length")
    step_ax.legend(loc="upper right")
    plot.convergence(norm_ax, runs, measure="grad_norm")
    norm_ax.axhline(result.max_norm, color="0.3", linestyle=":", label="max_norm $c$")
    norm_ax.legend(loc="upper right")
    norm_ax.set_title("raw gradient norm (before clipping)")
    gap_ax.set_xlabel("")
    step_ax.set_xlabel("")


def compute_cliff(max_norm: float = 1.0, lr: float = 0.1, steps: int = 160, tol: float = TOL):
    """The explorer's numbers: SGD on the cliff, plain and clipped at ``max_norm``.

    Returns a dict about the clipped run: ``max_step`` (its longest step), ``bound``
    (lr * max_norm), ``clipped_steps`` (the steps whose raw gradient was longer than
    max_norm), ``farthest`` (its largest theta_1), ``left_frame`` (whether it went beyond
    the plot's right edge), ``steps_to_tol`` (first k with f - f* <= tol, or None),
    ``final_gap``; ``plain_max_step``, ``plain_farthest``, ``plain_steps_to_tol`` for the
    unclipped run; and the runs themselves (``runs``: plain, clipped) for drawing.
    """
    problem = Cliff()
    plain, clipped = _cliff_runs(problem, lr, max_norm, steps, tol, f"clipped at {max_norm:.3g}")
    farthest = float(np.max(clipped.thetas[:, 0]))
    return {
        "max_step": float(step_lengths(clipped).max()),
        "bound": lr * max_norm,
        "clipped_steps": int(np.sum(clipped.grad_norms > max_norm)),
        "farthest": farthest,
        "left_frame": farthest > problem.bounds[0][1],
        "steps_to_tol": clipped.steps_to(tol),
        "final_gap": float(clipped.loss_gaps()[-1]),
        "plain_max_step": float(step_lengths(plain).max()),
        "plain_farthest": float(np.max(plain.thetas[:, 0])),
        "plain_steps_to_tol": plain.steps_to(tol),
        "runs": (plain, clipped),
        "problem": problem,
        "lr": lr,
        "max_norm": max_norm,
        "tol": tol,
    }


def _exit_note(ax, history: History, color, below=False, shown=True) -> None:
    """Mark where a run leaves the frame to the right, with its largest theta_1.

    The note is always added, empty when the run stays in the frame (or when not
    ``shown``): a slider change then leaves the axes' texts as they were, so the
    explorer's figure keeps its layout instead of measuring it again
    (``widgets.Canvas`` re-lays out only when the texts around the axes change).
    """
    thetas = history.thetas
    farthest = float(np.max(thetas[:, 0]))
    x_hi = ax.get_xlim()[1]
    leaves = shown and farthest > x_hi
    k = int(np.argmax(thetas[:, 0] > x_hi)) if leaves else 0
    ax.annotate(
        rf"$\rightarrow\ \theta_1 = {farthest:.1f}$" if leaves else "",
        xy=(x_hi, float(thetas[k, 1])),
        xytext=(-4, -16 if below else 10),
        textcoords="offset points",
        ha="right",
        fontsize=9,
        color=color,
    )


def draw_cliff(ax, result: dict) -> None:
    """Both runs of :func:`compute_cliff` over the cliff's contours, with a text box."""
    plain, clipped = result["runs"]
    # 120 x 120 points draw the same lines as the default 240 at this size, in a
    # fraction of the time a slider change takes
    plot.contour(ax, result["problem"], resolution=120)
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    plot.trajectory(ax, plain, color=plot.PALETTE[1], marker="s", alpha=0.55, linewidth=1.2)
    plot.trajectory(ax, clipped, color=plot.PALETTE[0], marker="o")
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    _exit_note(ax, plain, plot.PALETTE[1])
    differs = abs(result["farthest"] - result["plain_farthest"]) > 0.05  # else: same label
    _exit_note(ax, clipped, plot.PALETTE[0], below=True, shown=differs)
    reached, tol = result["steps_to_tol"], result["tol"]
    reach = f"f - f* < {tol:.0e} at step {reached}" if reached is not None else "not converged"
    text = f"longest step {result['max_step']:.3g} (bound {result['bound']:.3g})\n{reach}"
    ax.text(0.03, 0.03, text, transform=ax.transAxes, fontsize=8.5, va="bottom", bbox=_BOX)
    ax.legend(loc="upper right", fontsize=8.5)
    ax.set_title(rf"$\varepsilon = {result['lr']:g}$, max_norm $= {result['max_norm']:g}$")


_PANEL_KEYS = (
    "max_step",
    "bound",
    "clipped_steps",
    "farthest",
    "left_frame",
    "steps_to_tol",
    "final_gap",
    "plain_max_step",
    "plain_farthest",
    "plain_steps_to_tol",
)


def panel(ax, max_norm: float = 1.0, lr: float = 0.1, steps: int = 160, tol: float = TOL):
    """The explorer: :func:`compute_cliff` drawn by :func:`draw_cliff`; returns its numbers
    (without the runs). ``max_norm`` is the reader's slider, so it is checked here."""
    result = compute_cliff(_checks.positive("max_norm", max_norm), lr, steps, tol)
    draw_cliff(ax, result)
    return {key: result[key] for key in _PANEL_KEYS}


def compute_max_norm_sweep(max_norms, lr: float = 0.1, steps: int = 400, tol: float = TOL):
    """Steps to f - f* <= tol on the cliff for each threshold in ``max_norms``.

    Returns a dict with ``max_norms``, ``steps_to_tol`` (None where a run did not
    converge), ``left_frame`` (bools, measured), ``plain_steps_to_tol``, ``x_right`` (the
    plot's right edge), ``never_clips`` (the largest raw gradient norm of the unclipped
    run: above it, clipping never acts), ``leaves_above`` and ``tol``.

    ``leaves_above`` = (x_right - theta_1) / lr, theta the unclipped run's iterate on the
    face: a threshold above every gradient norm met before the face leaves that path
    unchanged up to the face, and the step from the face has length lr * max_norm
    (nearly along theta_1: the face's slope dwarfs the bowl's).
    """
    problem = Cliff()
    max_norms = np.asarray(max_norms, dtype=float)
    x_right = problem.bounds[0][1]
    reached, left = [], []
    for c in max_norms:
        run = minimize(problem, SGD(lr=lr), steps, max_norm=float(c), tol=tol)
        reached.append(run.steps_to(tol))
        left.append(bool(np.max(run.thetas[:, 0]) > x_right))
    plain = minimize(problem, SGD(lr=lr), steps, tol=tol)
    face = int(np.argmax(step_lengths(plain)))
    return {
        "max_norms": max_norms,
        "steps_to_tol": reached,
        "left_frame": np.array(left),
        "plain_steps_to_tol": plain.steps_to(tol),
        "x_right": x_right,
        "never_clips": float(plain.grad_norms.max()),
        "leaves_above": (x_right - float(plain.thetas[face, 0])) / lr,
        "tol": tol,
    }


def draw_max_norm_sweep(ax, sweep: dict) -> None:
    """The sweep's steps against max_norm (log axes), the unclipped run as a dashed line,
    the thresholds that leave the plot box shaded, and the one above which clipping
    never acts dotted."""
    max_norms, leaves, never = sweep["max_norms"], sweep["leaves_above"], sweep["never_clips"]
    ys = np.array([np.nan if r is None else r for r in sweep["steps_to_tol"]], dtype=float)
    ax.plot(max_norms, ys, marker="o", color=plot.PALETTE[0], label="clipped by norm")
    if sweep["plain_steps_to_tol"] is not None:
        ax.axhline(
            sweep["plain_steps_to_tol"], color=plot.PALETTE[1], linestyle="--", label="no clipping"
        )
    ax.axvspan(leaves, max(max_norms[-1], leaves), color="0.88", zorder=0)
    notes = [
        (
            leaves * 1.12,
            0.97,
            "top",
            f"max_norm > {leaves:.1f}:\nthe clipped run\nleaves the plot box",
        ),
        (never * 1.1, 0.25, "center", f"max_norm > {never:.1f}:\nclipping\nnever acts"),
    ]
    for x, y, va, text in notes:
        ax.text(x, y, text, transform=ax.get_xaxis_transform(), va=va, fontsize=8.5)
    ax.axvline(never, color="0.3", linestyle=":", linewidth=1.2)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("clipping threshold max_norm $c$")
    ax.set_ylabel(rf"steps until $f - f^\star \leq$ {sweep['tol']:.0e}")
    ax.legend(loc="lower left")


# --- clipping by norm and by value ---------------------------------------------------------


def _cosines(G, V) -> np.ndarray:
    """cos angle(g, v) for the rows g of G and v of V."""
    return np.sum(G * V, axis=-1) / (np.linalg.norm(G, axis=-1) * np.linalg.norm(V, axis=-1))


def _degrees(cosine) -> np.ndarray:
    return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


def compute_clipping_arrows(g, max_norm: float, clip_value: float) -> dict:
    """g, clip_by_norm(g, max_norm) and clip_by_value(g, clip_value), and the angles in
    degrees the two clipped vectors make with g (``angle_norm``, ``angle_value``)."""
    g = np.asarray(g, dtype=float)
    by_norm, by_value = clip_by_norm(g, max_norm), clip_by_value(g, clip_value)
    return {
        "g": g,
        "max_norm": max_norm,
        "clip_value": clip_value,
        "by_norm": by_norm,
        "by_value": by_value,
        "angle_norm": float(_degrees(_cosines(g, by_norm))),
        "angle_value": float(_degrees(_cosines(g, by_value))),
    }


def draw_clipping_arrows(ax, result: dict, xlim=(-1.3, 3.4), ylim=(-1.3, 1.6)) -> None:
    """The three vectors as arrows, with the circle ||x|| = max_norm and the square
    |x_i| <= clip_value where each rule puts its output."""
    g, r, c = result["g"], result["max_norm"], result["clip_value"]
    t = np.linspace(0, 2 * np.pi, 200)
    ax.plot(r * np.cos(t), r * np.sin(t), color=plot.PALETTE[0], lw=1.0, linestyle="--")
    ax.plot([-c, c, c, -c, -c], [-c, -c, c, c, -c], color=plot.PALETTE[1], lw=1.0, linestyle=":")
    arrows = [
        (g, "0.25", r"$g$"),
        (result["by_norm"], plot.PALETTE[0], "clip_by_norm$(g)$"),
        (result["by_value"], plot.PALETTE[1], "clip_by_value$(g)$"),
    ]
    for vector, color, label in arrows:
        style = {"arrowstyle": "-|>", "color": color, "lw": 2}
        ax.annotate("", xy=vector, xytext=(0, 0), arrowprops=style)
        ax.plot([], [], color=color, lw=2, label=label)
    ax.plot([0, 1.15 * g[0]], [0, 1.15 * g[1]], color="0.6", lw=0.8, zorder=0)
    ax.set_aspect("equal")
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    ax.set_xlabel("$g_1$")
    ax.set_ylabel("$g_2$")
    ax.legend(loc="upper left")


def compute_clip_angles(G, c: float) -> dict:
    """For each row g of G: cos angle(g, clip_by_norm(g, c)) (``cos_norm``), the same for
    clip_by_value (``cos_value``) and its lower bound c / ||v|| where a coordinate was
    cut, 1 where none was (``bound``); ``angle_value``: the angles of clipping by value
    in degrees."""
    G = np.asarray(G, dtype=float)
    by_norm = np.array([clip_by_norm(g, c) for g in G])
    by_value = np.array([clip_by_value(g, c) for g in G])
    cos_value = _cosines(G, by_value)
    cut = np.any(np.abs(G) > c, axis=1)
    return {
        "cos_norm": _cosines(G, by_norm),
        "cos_value": cos_value,
        "bound": np.where(cut, c / np.linalg.norm(by_value, axis=1), 1.0),
        "angle_value": _degrees(cos_value),
    }


def extremal_angle(n: int, a: float = 1e10) -> tuple[float, float]:
    """The angle (degrees) by which clipping by value at 1 turns g = (a, 1, ..., 1) in n
    dimensions, and its limit arccos(1 / sqrt(n)) as a grows."""
    g = np.ones(n)
    g[0] = a
    return float(_degrees(_cosines(g, clip_by_value(g, 1.0)))), float(_degrees(1 / math.sqrt(n)))


# --- the linear recurrence -----------------------------------------------------------------


def scaled_rotation(a, b) -> np.ndarray:
    """theta of W = a I + b J, J the quarter turn [[0, -1], [1, 0]]: (a, -b, b, a).

    These matrices multiply like the complex numbers a + i b, so W^T is the scaled
    rotation of (a + i b)^T. ``a`` and ``b`` may be arrays (a grid of matrices).
    """
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    return np.stack([a, -b, b, a], axis=-1)


def plane_coordinates(thetas) -> tuple[np.ndarray, np.ndarray]:
    """(a, b, off) for 2 x 2 parameters: W's scaled-rotation part a I + b J and the size
    ``off`` of the rest (0 exactly when W is a scaled rotation)."""
    t = np.asarray(thetas, dtype=float)
    a, b = (t[..., 0] + t[..., 3]) / 2, (t[..., 2] - t[..., 1]) / 2
    off = np.hypot((t[..., 0] - t[..., 3]) / 2, (t[..., 2] + t[..., 1]) / 2)
    return a, b, off


def quarter_turn(T: int = 20, gain: float = 1.1, angle: float = 0.0) -> LinearRecurrence:
    """Learn a 2 x 2 W whose T-th power is the quarter turn R(pi/2).

    Two training sequences start at e_1 and e_2 with targets R(pi/2) e_1 and R(pi/2) e_2,
    so f(W) = 1/4 ||W^T - R(pi/2)||_F^2. The start is x0 = gain * R(angle), a rotation
    with a gain (gain > 1: the exploding side). A real W with W^T = R(pi/2) commutes with
    R(pi/2), so it is a scaled rotation a I + b J with (a + i b)^T = i: the minimizers are
    exactly the T rotations by (pi/2 + 2 pi k) / T (``roots``, as (a, b) pairs), f* = 0.
    """
    target = np.array([[0.0, -1.0], [1.0, 0.0]])
    x0 = scaled_rotation(gain * math.cos(angle), gain * math.sin(angle))
    problem = LinearRecurrence(
        np.eye(2), target, T, x0, f_star=0.0, name=f"quarter turn in T={T} steps"
    )
    phases = (np.pi / 2 + 2 * np.pi * np.arange(T)) / T
    problem.roots = np.stack([np.cos(phases), np.sin(phases)], axis=-1)
    return problem


def compute_gradient_depth(matrices: dict, delta, depth: int) -> dict:
    """||(W^T)^d delta|| for d = 0..depth, for each labelled W.

    This is the norm of dL/dh_{T-d}, the gradient d steps below a loss whose gradient
    at the top is delta (:func:`backward`). Returns, per label, ``norms`` (d = 0..depth),
    ``rho`` (the spectral radius), ``sigma`` (the largest singular value ||W||_2) and
    ``rate`` (:func:`optimlib.rate` over the second half of the depths).
    """
    delta = np.asarray(delta, dtype=float).reshape(-1, 1)
    results = {}
    for label, W in matrices.items():
        W = np.asarray(W, dtype=float)
        states = unroll(W, np.zeros_like(delta), depth)  # the states do not enter the signals
        _, signals = backward(W, states, delta)
        norms = np.linalg.norm(signals[::-1, :, 0], axis=1)  # d = T - t
        results[label] = {
            "norms": norms,
            "rho": spectral_radius(W),
            "sigma": float(np.linalg.norm(W, 2)),
            "rate": rate(norms, depth // 2, depth),
        }
    return results


def draw_gradient_depth(ax, results: dict) -> None:
    """Each label's norms against d (log scale), with the line rho^d dotted through the
    middle depth."""
    for (label, r), color, marker in zip(results.items(), plot.PALETTE, plot.MARKERS, strict=False):
        norms = r["norms"]
        d, mid = np.arange(len(norms)), (len(norms) - 1) // 2
        legend = rf"{label}: $\rho = {r['rho']:.2f}$, measured {r['rate']:.3f}/step"
        ax.plot(d, norms, color=color, marker=marker, markevery=5, label=legend)
        ax.plot(d, norms[mid] * r["rho"] ** (d - mid), color=color, linestyle=":", linewidth=1.0)
    ax.set_yscale("log")
    ax.set_xlabel(r"depth $d$ (steps between $h_{T-d}$ and the loss)")
    ax.set_ylabel(r"$\|\partial L / \partial h_{T-d}\|$")
    ax.legend(loc="upper left")


def quarter_runs(problem, settings, steps: int) -> list[History]:
    """SGD on ``problem`` for each (lr, max_norm) in ``settings`` (max_norm None: no
    clipping), stopped as diverged at a loss above 1e6, labelled for a legend."""

    def label(lr, c):
        clip = "no clipping" if c is None else f"clipped at {c:g}"
        return rf"{clip}, $\varepsilon$ = {lr:g}"

    return [
        minimize(problem, SGD(lr=lr), steps, max_norm=c, max_loss=1e6, label=label(lr, c))
        for lr, c in settings
    ]


# the plane of scaled rotations


def _to_frame(start, end, half_width):
    """The point where the segment start -> end leaves the box |a|, |b| <= half_width
    (``end`` itself when it lies inside)."""
    start, end = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    if np.all(np.abs(end) <= half_width):
        return end
    d = end - start
    ts = [(np.sign(d[i]) * half_width - start[i]) / d[i] for i in range(2) if d[i] != 0]
    t = min(x for x in ts if x >= 0)
    return start + min(t, 1.0) * d


def _log_levels(values, lo=1e-3):
    """Powers of ten from ``lo`` up to the first one above every value."""
    top = float(np.nanmax(values))
    return 10.0 ** np.arange(math.floor(math.log10(lo)), math.ceil(math.log10(top)) + 1)


def _loss_grid(problem, box, points):
    """(A, B, f) on a points x points grid of scaled rotations over box; inf where f
    overflows."""
    (a0, a1), (b0, b1) = box
    A, B = np.meshgrid(np.linspace(a0, a1, points), np.linspace(b0, b1, points))
    with np.errstate(over="ignore", invalid="ignore"):
        Z = problem.f(scaled_rotation(A, B))
    return A, B, np.where(np.isfinite(Z), Z, np.inf)


@dataclass(frozen=True)
class Plane:
    """What :func:`draw_plane` draws: the loss on grids (``main``, and ``zoom`` for the
    inset box ``inset``), the decade ``levels``, the runs' (a, b) ``paths`` with their
    ``labels`` and whether each ``diverged``, each run's attempted step ``jumps`` ((a, b)
    or None), the minimizers ``roots`` (or None), ``half_width`` and ``off``, the largest
    distance of an iterate from the plane."""

    main: tuple
    zoom: tuple | None
    inset: tuple | None
    levels: np.ndarray
    paths: list
    labels: list
    diverged: list
    jumps: list
    roots: np.ndarray | None
    half_width: float
    off: float


def compute_plane(
    problem: LinearRecurrence,
    histories=(),
    lrs=None,
    half_width: float = 1.4,
    resolution: int = 181,
    inset=None,
) -> Plane:
    """The loss of a 2 x 2 recurrence on the plane of scaled rotations W = a I + b J, and
    the runs in ``histories`` at their (a, b) coordinates: runs that start on the plane
    stay on it (``off`` measures how far they stray). For a run that diverged, give its
    plain SGD step size in ``lrs`` (same order as ``histories``, None for the others): its
    attempted step theta - eps grad f(theta) is returned in ``jumps``. ``inset`` =
    ((a0, a1), (b0, b1)) adds a finer grid of that box for a magnified view."""
    full = ((-half_width, half_width), (-half_width, half_width))
    *_, Z = _loss_grid(problem, full, 61)  # the levels need only the largest value
    lrs = lrs or [None] * len(histories)
    paths, off, jumps = [], 0.0, []
    for history, lr in zip(histories, lrs, strict=True):
        a, b, rest = plane_coordinates(history.thetas)
        off = max(off, float(np.max(rest)))
        paths.append(np.stack([a, b], axis=-1))
        jump = None
        if history.diverged and lr is not None:
            last = history.thetas[-1]
            with np.errstate(over="ignore", invalid="ignore"):
                ja, jb, _ = plane_coordinates(last - lr * problem.grad(last))
            jump = (float(ja), float(jb))
        jumps.append(jump)
    return Plane(
        main=_loss_grid(problem, full, resolution),
        zoom=None if inset is None else _loss_grid(problem, inset, 121),
        inset=inset,
        levels=_log_levels(Z[np.isfinite(Z)], lo=1e-3),
        paths=paths,
        labels=[h.label for h in histories],
        diverged=[h.diverged for h in histories],
        jumps=jumps,
        roots=getattr(problem, "roots", None),
        half_width=half_width,
        off=off,
    )


def _landscape(ax, grid, levels):
    """Filled contours one decade apart (darker is higher) and the unit circle."""
    import matplotlib.colors as mcolors

    A, B, Z = grid
    norm = mcolors.LogNorm(levels[0], levels[-1])
    filled = ax.contourf(
        A, B, np.clip(Z, levels[0], levels[-1]), levels=levels, norm=norm, cmap="Greys", alpha=0.6
    )
    ax.contour(A, B, np.minimum(Z, levels[-1]), levels=levels, colors="0.45", linewidths=0.5)
    t = np.linspace(0, 2 * np.pi, 400)
    ax.plot(np.cos(t), np.sin(t), color="black", linewidth=1.0, linestyle="--")
    return filled


def _plane_runs(ax, plane: Plane, main: bool) -> None:
    """The runs, a cross where one diverged, its attempted step as a dashed arrow (main
    view only) and the minima as stars."""
    styles = zip(plot.PALETTE, plot.MARKERS, strict=False)
    runs = zip(plane.paths, plane.labels, plane.diverged, plane.jumps, styles, strict=False)
    for points, label, diverged, jump, (color, marker) in runs:
        plot.trajectory(ax, points, label=label if main else None, color=color, marker=marker)
        if diverged:
            ax.plot(*points[-1], marker="X", markersize=10, color=color, zorder=6)
        if jump is not None and main:
            end = _to_frame(points[-1], np.array(jump), 0.97 * plane.half_width)
            arrow = {"arrowstyle": "-|>", "color": color, "lw": 1.4, "linestyle": "--"}
            ax.annotate("", xy=end, xytext=points[-1], arrowprops=arrow)
            box = _BOX | {"edgecolor": "none"}
            text = f"to ({jump[0]:.2f}, {jump[1]:.2f})"
            ax.annotate(
                text, xy=end, xytext=(4, 6), textcoords="offset points", color=color,
                fontsize=8.5, bbox=box,
            )  # fmt: skip
    if plane.roots is not None:
        roots = plane.roots
        label = r"minima ($f = 0$)" if main else None
        style = {"marker": "*", "color": "black", "markersize": 8, "linestyle": "none"}
        ax.plot(roots[:, 0], roots[:, 1], label=label, zorder=5, **style)


def draw_plane(ax, plane: Plane, colorbar: bool = True) -> None:
    """The loss landscape of :func:`compute_plane` with its runs, the inset and a colour bar."""
    filled = _landscape(ax, plane.main, plane.levels)
    _plane_runs(ax, plane, main=True)
    w = plane.half_width
    ax.set_xlim(-w, w)
    ax.set_ylim(-w, w)
    ax.set_aspect("equal")
    ax.grid(False)
    ax.set_xlabel(r"$a$ in $W = aI + bJ$")
    ax.set_ylabel(r"$b$")
    ax.legend(loc="lower left", fontsize=8.5, framealpha=0.9, frameon=True)
    if plane.inset is not None:
        sub = ax.inset_axes([0.56, 0.56, 0.42, 0.42])
        _landscape(sub, plane.zoom, plane.levels)
        _plane_runs(sub, plane, main=False)
        sub.set_xlim(*plane.inset[0])
        sub.set_ylim(*plane.inset[1])
        sub.set_aspect("equal")
        sub.tick_params(labelsize=7)
        sub.grid(False)
        ax.indicate_inset_zoom(sub, edgecolor="0.2")
    if colorbar:
        ax.figure.colorbar(filled, ax=ax, shrink=0.8, pad=0.02).set_label(r"$f(W)$")


# how runs end over the step sizes


def lr_sweep(
    problem, lrs, max_norm=None, steps: int = 300, tol: float = TOL, max_loss: float = 1e6
):
    """Runs of SGD on ``problem`` for each step size in ``lrs`` (clipped when ``max_norm``).

    Each run stops at f - f* <= tol or at a loss above ``max_loss``. Returns ``lrs``,
    ``outcomes`` (:func:`outcome` of each run) and ``steps_to_tol`` (None when it never
    got there).
    """
    lrs = np.asarray(lrs, dtype=float)
    outcomes, reached = [], []
    for lr in lrs:
        run = minimize(
            problem, SGD(lr=float(lr)), steps, max_norm=max_norm, tol=tol, max_loss=max_loss
        )
        outcomes.append(outcome(run, tol))
        reached.append(run.steps_to(tol))
    return {"lrs": lrs, "outcomes": outcomes, "steps_to_tol": reached}


def compute_lr_sweeps(problem, lrs, max_norm: float, steps: int = 300, tol: float = TOL):
    """:func:`lr_sweep` without and with clipping at ``max_norm``: ``{"plain": ...,
    "clipped": ...}``, with the settings (``max_norm``, ``steps``, ``tol``) for drawing."""
    return {
        "plain": lr_sweep(problem, lrs, None, steps, tol),
        "clipped": lr_sweep(problem, lrs, max_norm, steps, tol),
        "max_norm": max_norm,
        "steps": steps,
        "tol": tol,
    }


def draw_lr_sweeps(ax, sweeps: dict) -> None:
    """A run that converged at its number of steps to f - f* <= tol; one that stalled
    (still above tol after ``steps`` steps) on the row "stalled" above, one that
    diverged on the row "diverged"."""
    steps = sweeps["steps"]
    rows = {"stalled": 2.0 * steps, "diverged": 4.0 * steps}
    styles = {
        "plain": ("no clipping", plot.PALETTE[1], "s"),
        "clipped": (f"clipped at max_norm = {sweeps['max_norm']:g}", plot.PALETTE[0], "o"),
    }
    for key, (label, color, marker) in styles.items():
        result = sweeps[key]
        pairs = zip(result["outcomes"], result["steps_to_tol"], strict=True)
        ys = np.array([r if o == "converged" else rows[o] for o, r in pairs], dtype=float)
        ax.plot(
            result["lrs"], ys, color=color, marker=marker, label=label, markersize=6, linewidth=1.0
        )
    for name, y in rows.items():
        ax.axhline(y, color="0.8", linewidth=6, zorder=0)
        ax.text(
            1.0, y, f" {name}", transform=ax.get_yaxis_transform(), va="center", fontsize=9,
            clip_on=False,
        )  # fmt: skip
    ax.axhline(steps, color="0.5", linestyle=":", linewidth=1.0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"step size $\varepsilon$")
    ax.set_ylabel(rf"steps until $f \leq$ {sweeps['tol']:.0e}")
    ax.legend(loc="lower left")


def compute_curvature_along_gain(problem, gains) -> dict:
    """Along W = s I for each gain s: ||grad f|| (``grad_norms``), the largest Hessian
    eigenvalue (``curvatures``) and their ``ratio``."""
    points = [scaled_rotation(s, 0.0) for s in gains]
    grad_norms = np.array([np.linalg.norm(problem.grad(p)) for p in points])
    curvatures = np.array([np.linalg.eigvalsh(problem.hess(p))[-1] for p in points])
    return {"grad_norms": grad_norms, "curvatures": curvatures, "ratio": curvatures / grad_norms}
