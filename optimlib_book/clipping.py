"""Chapter 7, gradient clipping: the cliff explorer and the exploding recurrence.

The cliff (:class:`optimlib.problems.Cliff`):

* :func:`panel`: the explorer. SGD with clipping by norm at ``max_norm`` on the cliff,
  drawn over its contours beside the unclipped run; returns the longest step, the bound
  eps * max_norm, how far the run went and how soon it converged.
* :func:`max_norm_sweep`: the steps to convergence for many thresholds, with the
  threshold above which the clipped run leaves the plot and the one above which
  clipping never acts.
* :func:`step_lengths`: ||theta_{k+1} - theta_k|| of a recorded run.

Clipping by norm against clipping by value: :func:`clipping_arrows` draws a gradient
and both clipped versions, with the angles they make.

The exploding gradient of a deep product (Pascanu, Mikolov & Bengio 2013):

* :class:`optimlib.problems.LinearRecurrence` (with ``unroll`` and ``backward`` in
  :mod:`optimlib.problems.networks`) is the recurrence h_t = W h_{t-1} and its loss;
  :func:`quarter_turn` is the chapter's instance: learn a 2 x 2 W whose 20th power
  turns the plane by a quarter;
* :func:`gradient_depth`: the norm of the backpropagated signal against the depth,
  for matrices of several spectral radii, with its measured growth per step;
* :func:`plane_panel`: the quarter-turn loss on the plane of scaled rotations
  W = a I + b J, where gradient descent from a scaled rotation stays, with runs on top;
* :func:`lr_sweep` and :func:`outcome`: how runs end (converged, stalled on the
  plateau, diverged) over a range of step sizes, with and without clipping.
"""

from __future__ import annotations

import math

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
    "clipping_arrows",
    "gradient_depth",
    "lr_sweep",
    "max_norm_sweep",
    "outcome",
    "panel",
    "plane_coordinates",
    "plane_panel",
    "quarter_turn",
    "scaled_rotation",
    "step_lengths",
    "sweep_panel",
]

TOL = 1e-10  # a run has converged once f - f* <= TOL


# --- the cliff ---------------------------------------------------------------------------


def step_lengths(history: History) -> np.ndarray:
    """||theta_{k+1} - theta_k|| for every recorded step k (the run must keep its iterates)."""
    if history.thetas is None:
        raise ValueError("history: the run did not record its iterates")
    diff = np.diff(history.thetas.reshape(len(history.thetas), -1), axis=0)
    return np.linalg.norm(diff, axis=1)


def _exit_note(ax, history: History, color, below=False) -> float:
    """Mark where a run leaves the frame to the right; returns its largest theta_1."""
    farthest = float(np.max(history.thetas[:, 0]))
    x_hi = ax.get_xlim()[1]
    if farthest > x_hi:
        k = int(np.argmax(history.thetas[:, 0] > x_hi))
        y = float(history.thetas[k, 1])
        ax.annotate(
            rf"$\rightarrow\ \theta_1 = {farthest:.1f}$",
            xy=(x_hi, y),
            xytext=(-4, -16 if below else 10),
            textcoords="offset points",
            ha="right",
            fontsize=9,
            color=color,
        )
    return farthest


def panel(ax, max_norm: float = 1.0, lr: float = 0.1, steps: int = 160, tol: float = TOL):
    """SGD on the cliff with and without clipping by norm, over the cliff's contours.

    Both runs start at the cliff's x0 with step ``lr``; the clipped one rescales every
    gradient longer than ``max_norm`` to length ``max_norm``. Returns a dict about the
    clipped run: ``max_step`` (its longest step), ``bound`` (lr * max_norm),
    ``clipped_steps`` (the steps whose raw gradient was longer than max_norm),
    ``farthest`` (its largest theta_1), ``left_frame`` (whether it went beyond the
    plot's right edge), ``steps_to_tol`` (first k with f - f* <= tol, or None),
    ``final_gap``; and ``plain_max_step``, ``plain_farthest``, ``plain_steps_to_tol`` for
    the unclipped run.
    """
    max_norm = _checks.positive("max_norm", max_norm)
    problem = Cliff()
    plain = minimize(problem, SGD(lr=lr), steps, tol=tol, label="no clipping")
    clipped = minimize(
        problem, SGD(lr=lr), steps, max_norm=max_norm, tol=tol, label=f"clipped at {max_norm:.3g}"
    )
    plot.contour(ax, problem)
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    plot.trajectory(ax, plain, color=plot.PALETTE[1], marker="s", alpha=0.55, linewidth=1.2)
    plot.trajectory(ax, clipped, color=plot.PALETTE[0], marker="o")
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    plain_far = _exit_note(ax, plain, plot.PALETTE[1])
    farthest = float(np.max(clipped.thetas[:, 0]))
    if abs(farthest - plain_far) > 0.05:  # the same excursion needs no second label
        _exit_note(ax, clipped, plot.PALETTE[0], below=True)
    lengths = step_lengths(clipped)
    reached = clipped.steps_to(tol)
    result = {
        "max_step": float(lengths.max()),
        "bound": lr * max_norm,
        "clipped_steps": int(np.sum(clipped.grad_norms > max_norm)),
        "farthest": farthest,
        "left_frame": farthest > xlim[1],
        "steps_to_tol": reached,
        "final_gap": float(clipped.loss_gaps()[-1]),
        "plain_max_step": float(step_lengths(plain).max()),
        "plain_farthest": plain_far,
        "plain_steps_to_tol": plain.steps_to(tol),
    }
    reach = f"f - f* < {tol:.0e} at step {reached}" if reached is not None else "not converged"
    ax.text(
        0.03,
        0.03,
        f"longest step {result['max_step']:.3g} (bound {result['bound']:.3g})\n{reach}",
        transform=ax.transAxes,
        fontsize=8.5,
        va="bottom",
        bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "edgecolor": "0.7"},
    )
    ax.legend(loc="upper right", fontsize=8.5)
    ax.set_title(rf"$\varepsilon = {lr:g}$, max_norm $= {max_norm:g}$")
    return result


def max_norm_sweep(ax, max_norms, lr: float = 0.1, steps: int = 400, tol: float = TOL):
    """Steps to f - f* <= tol on the cliff for each threshold in ``max_norms`` (log axes).

    Draws the clipped runs' steps against max_norm, the unclipped run as a horizontal
    line, and shades the thresholds above ``leaves_above``, where the clipped run
    leaves the plot box. Returns a dict with ``max_norms``, ``steps_to_tol`` (None
    where a run did not converge), ``left_frame`` (bools, measured), ``plain_steps_to_tol``,
    ``x_right`` (the plot's right edge), ``never_clips`` (the largest raw gradient norm
    of the unclipped run: above it, clipping never acts) and ``leaves_above``.

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
    plain_reached = plain.steps_to(tol)
    face = int(np.argmax(step_lengths(plain)))
    leaves_above = (x_right - float(plain.thetas[face, 0])) / lr
    ys = np.array([np.nan if r is None else r for r in reached], dtype=float)
    ax.plot(max_norms, ys, marker="o", color=plot.PALETTE[0], label="clipped by norm")
    if plain_reached is not None:
        ax.axhline(plain_reached, color=plot.PALETTE[1], linestyle="--", label="no clipping")
    left = np.array(left)
    ax.axvspan(leaves_above, max(max_norms[-1], leaves_above), color="0.88", zorder=0)
    ax.text(
        leaves_above * 1.12,
        0.97,
        f"max_norm > {leaves_above:.1f}:\nthe clipped run\nleaves the plot box",
        transform=ax.get_xaxis_transform(),
        va="top",
        fontsize=8.5,
    )
    never = float(plain.grad_norms.max())
    ax.axvline(never, color="0.3", linestyle=":", linewidth=1.2)
    ax.text(
        never * 1.1,
        0.25,
        f"max_norm > {never:.1f}:\nclipping\nnever acts",
        transform=ax.get_xaxis_transform(),
        va="center",
        fontsize=8.5,
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("clipping threshold max_norm $c$")
    ax.set_ylabel(rf"steps until $f - f^\star \leq$ {tol:.0e}")
    ax.legend(loc="lower left")
    return {
        "max_norms": max_norms,
        "steps_to_tol": reached,
        "left_frame": left,
        "plain_steps_to_tol": plain_reached,
        "x_right": x_right,
        "never_clips": never,
        "leaves_above": leaves_above,
    }


# --- clipping by norm and by value ---------------------------------------------------------


def _angle(u, v) -> float:
    """The angle between u and v in degrees."""
    cosine = float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))
    return math.degrees(math.acos(min(1.0, max(-1.0, cosine))))


def clipping_arrows(ax, g, max_norm: float, clip_value: float):
    """A 2-D gradient g, clip_by_norm(g, max_norm) and clip_by_value(g, clip_value) as arrows.

    The circle ||x|| = max_norm and the square |x_i| <= clip_value are where each rule
    puts its output. Returns the two clipped vectors (``by_norm``, ``by_value``) and the
    angles in degrees they make with g (``angle_norm``, ``angle_value``).
    """
    g = np.asarray(g, dtype=float)
    by_norm, by_value = clip_by_norm(g, max_norm), clip_by_value(g, clip_value)
    theta = np.linspace(0, 2 * np.pi, 200)
    ax.plot(
        max_norm * np.cos(theta),
        max_norm * np.sin(theta),
        color=plot.PALETTE[0],
        lw=1.0,
        linestyle="--",
    )
    c = clip_value
    ax.plot([-c, c, c, -c, -c], [-c, -c, c, c, -c], color=plot.PALETTE[1], lw=1.0, linestyle=":")
    arrows = [
        (g, "0.25", r"$g$"),
        (by_norm, plot.PALETTE[0], "clip_by_norm$(g)$"),
        (by_value, plot.PALETTE[1], "clip_by_value$(g)$"),
    ]
    for vector, color, label in arrows:
        ax.annotate(
            "", xy=vector, xytext=(0, 0), arrowprops={"arrowstyle": "-|>", "color": color, "lw": 2}
        )
        ax.plot([], [], color=color, lw=2, label=label)
    ax.plot([0, 1.15 * g[0]], [0, 1.15 * g[1]], color="0.6", lw=0.8, linestyle="-", zorder=0)
    angle_norm, angle_value = _angle(g, by_norm), _angle(g, by_value)
    ax.set_aspect("equal")
    ax.set_xlabel("$g_1$")
    ax.set_ylabel("$g_2$")
    ax.legend(loc="upper left")
    return {
        "by_norm": by_norm,
        "by_value": by_value,
        "angle_norm": angle_norm,
        "angle_value": angle_value,
    }


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
    T = _checks.positive_int("T", T)
    gain = _checks.positive("gain", gain)
    angle = _checks.finite("angle", angle)
    target = np.array([[0.0, -1.0], [1.0, 0.0]])
    x0 = scaled_rotation(gain * math.cos(angle), gain * math.sin(angle))
    problem = LinearRecurrence(
        np.eye(2), target, T, x0, f_star=0.0, name=f"quarter turn in T={T} steps"
    )
    phases = (np.pi / 2 + 2 * np.pi * np.arange(T)) / T
    problem.roots = np.stack([np.cos(phases), np.sin(phases)], axis=-1)
    return problem


def gradient_depth(ax, matrices: dict, delta, depth: int):
    """||(W^T)^d delta|| against d = 0..depth for each labelled W, with the lines rho^d.

    This is the norm of dL/dh_{T-d}, the gradient d steps below a loss whose gradient
    at the top is delta (:func:`backward`). Returns, per label, ``norms`` (d = 0..depth),
    ``rho`` (the spectral radius), ``sigma`` (the largest singular value ||W||_2) and
    ``rate`` (:func:`optimlib.rate` over the second half of the depths).
    """
    depth = _checks.positive_int("depth", depth)
    delta = np.asarray(delta, dtype=float).reshape(-1, 1)
    d = np.arange(depth + 1)
    results = {}
    for (label, W), (color, marker) in zip(
        matrices.items(), zip(plot.PALETTE, plot.MARKERS, strict=False), strict=False
    ):
        W = np.asarray(W, dtype=float)
        states = unroll(W, np.zeros_like(delta), depth)  # the states do not enter the signals
        _, signals = backward(W, states, delta)
        norms = np.linalg.norm(signals[::-1, :, 0], axis=1)  # d = T - t
        rho = spectral_radius(W)
        growth = rate(norms, depth // 2, depth)
        ax.plot(
            d,
            norms,
            color=color,
            marker=marker,
            markevery=5,
            label=rf"{label}: $\rho = {rho:.2f}$, measured {growth:.3f}/step",
        )
        ax.plot(
            d,
            norms[depth // 2] * rho ** (d - depth // 2),
            color=color,
            linestyle=":",
            linewidth=1.0,
        )
        results[label] = {
            "norms": norms,
            "rho": rho,
            "sigma": float(np.linalg.norm(W, 2)),
            "rate": growth,
        }
    ax.set_yscale("log")
    ax.set_xlabel(r"depth $d$ (steps between $h_{T-d}$ and the loss)")
    ax.set_ylabel(r"$\|\partial L / \partial h_{T-d}\|$")
    ax.legend(loc="upper left")
    return results


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


def plane_panel(
    ax,
    problem: LinearRecurrence,
    histories=(),
    labels=None,
    lrs=None,
    half_width=1.4,
    resolution=181,
    inset=None,
    colorbar=True,
):
    """The loss of a 2 x 2 recurrence on the plane of scaled rotations W = a I + b J.

    Filled contours one decade of f apart (darker is higher), the unit circle
    |a + i b| = 1 (inside it W^T shrinks, outside it grows), the minimizers
    ``problem.roots`` when known, and the runs in ``histories`` at their (a, b)
    coordinates: runs that start on the plane stay on it (:func:`plane_coordinates`
    measures how far they stray). For a run that diverged, give its plain SGD step
    size in ``lrs`` (same order as ``histories``, None for the others) to draw the
    step it attempted, theta - eps grad f(theta), as a dashed arrow (it ends beyond
    the frame). ``inset`` = ((a0, a1), (b0, b1)) adds a magnified view of that box.

    Returns ``off`` (the largest distance of a drawn iterate from the plane),
    ``levels``, and ``jumps``: for each run, the (a, b) of its attempted step when
    drawn, else None.
    """
    import matplotlib.colors as mcolors

    def grid(box, points):
        (a0, a1), (b0, b1) = box
        A, B = np.meshgrid(np.linspace(a0, a1, points), np.linspace(b0, b1, points))
        with np.errstate(over="ignore", invalid="ignore"):
            Z = problem.f(scaled_rotation(A, B))
        return A, B, np.where(np.isfinite(Z), Z, np.inf)

    full = ((-half_width, half_width), (-half_width, half_width))
    *_, Z = grid(full, 61)  # the levels need only the largest value, at the corners
    levels = _log_levels(Z[np.isfinite(Z)], lo=1e-3)
    norm = mcolors.LogNorm(levels[0], levels[-1])

    def landscape(axes, box, points):
        A, B, Z = grid(box, points)
        filled = axes.contourf(
            A,
            B,
            np.clip(Z, levels[0], levels[-1]),
            levels=levels,
            norm=norm,
            cmap="Greys",
            alpha=0.6,
        )
        axes.contour(A, B, np.minimum(Z, levels[-1]), levels=levels, colors="0.45", linewidths=0.5)
        t = np.linspace(0, 2 * np.pi, 400)
        axes.plot(np.cos(t), np.sin(t), color="black", linewidth=1.0, linestyle="--")
        return filled

    filled = landscape(ax, full, resolution)
    roots = getattr(problem, "roots", None)
    off, jumps, drawn = 0.0, [], []
    labels = labels or [h.label for h in histories]
    lrs = lrs or [None] * len(histories)
    for history, label, lr, (color, marker) in zip(
        histories, labels, lrs, zip(plot.PALETTE, plot.MARKERS, strict=False), strict=False
    ):
        a, b, rest = plane_coordinates(history.thetas)
        off = max(off, float(np.max(rest)))
        points = np.stack([a, b], axis=-1)
        drawn.append((points, label, color, marker, history.diverged))
        jump = None
        if history.diverged and lr is not None:
            last = history.thetas[-1]
            with np.errstate(over="ignore", invalid="ignore"):
                attempted = last - lr * problem.grad(last)
            ja, jb, _ = plane_coordinates(attempted)
            jump = (float(ja), float(jb))
        jumps.append(jump)

    def runs(axes, legend):
        for (points, label, color, marker, diverged), jump in zip(drawn, jumps, strict=True):
            plot.trajectory(
                axes, points, label=label if legend else None, color=color, marker=marker
            )
            if diverged:
                axes.plot(*points[-1], marker="X", markersize=10, color=color, zorder=6)
            if jump is not None and legend:  # the main view only
                end = _to_frame(points[-1], np.array(jump), 0.97 * half_width)
                axes.annotate(
                    "",
                    xy=end,
                    xytext=points[-1],
                    arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.4, "linestyle": "--"},
                )
                axes.annotate(
                    f"to ({jump[0]:.2f}, {jump[1]:.2f})",
                    xy=end,
                    xytext=(4, 6),
                    textcoords="offset points",
                    color=color,
                    fontsize=8.5,
                    bbox={
                        "boxstyle": "round",
                        "facecolor": "white",
                        "alpha": 0.85,
                        "edgecolor": "none",
                    },
                )
        if roots is not None:
            axes.plot(
                roots[:, 0],
                roots[:, 1],
                marker="*",
                color="black",
                markersize=8,
                linestyle="none",
                label=r"minima ($f = 0$)" if legend else None,
                zorder=5,
            )

    runs(ax, legend=True)
    ax.set_xlim(-half_width, half_width)
    ax.set_ylim(-half_width, half_width)
    ax.set_aspect("equal")
    ax.grid(False)
    ax.set_xlabel(r"$a$ in $W = aI + bJ$")
    ax.set_ylabel(r"$b$")
    ax.legend(loc="lower left", fontsize=8.5, framealpha=0.9, frameon=True)
    if inset is not None:
        sub = ax.inset_axes([0.56, 0.56, 0.42, 0.42])
        landscape(sub, inset, 121)
        runs(sub, legend=False)
        sub.set_xlim(*inset[0])
        sub.set_ylim(*inset[1])
        sub.set_aspect("equal")
        sub.tick_params(labelsize=7)
        sub.grid(False)
        ax.indicate_inset_zoom(sub, edgecolor="0.2")
    if colorbar:
        bar = ax.figure.colorbar(filled, ax=ax, shrink=0.8, pad=0.02)
        bar.set_label(r"$f(W)$")
    return {"off": off, "levels": levels, "jumps": jumps}


def outcome(history: History, tol: float = TOL) -> str:
    """How a run ended: "converged" (f - f* <= tol), "diverged", or "stalled"."""
    if history.diverged:
        return "diverged"
    return "converged" if history.steps_to(tol) is not None else "stalled"


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


def sweep_panel(
    ax, problem, lrs, max_norm: float, steps: int = 300, tol: float = TOL, max_loss: float = 1e6
):
    """How runs end over the step sizes ``lrs``, without and with clipping at ``max_norm``.

    A run that converged is drawn at its number of steps to f - f* <= tol; one that
    stalled (still above tol after ``steps`` steps) on the row "stalled" above, one that
    diverged (a loss above ``max_loss``) on the row "diverged". Returns
    ``{"plain": ..., "clipped": ...}``, each the result of :func:`lr_sweep`.
    """
    results = {
        "plain": lr_sweep(problem, lrs, None, steps, tol, max_loss),
        "clipped": lr_sweep(problem, lrs, max_norm, steps, tol, max_loss),
    }
    rows = {"stalled": 2.0 * steps, "diverged": 4.0 * steps}
    styles = {
        "plain": ("no clipping", plot.PALETTE[1], "s"),
        "clipped": (f"clipped at max_norm = {max_norm:g}", plot.PALETTE[0], "o"),
    }
    for key, result in results.items():
        label, color, marker = styles[key]
        ys = np.array(
            [
                rows[o] if o != "converged" else r
                for o, r in zip(result["outcomes"], result["steps_to_tol"], strict=True)
            ],
            dtype=float,
        )
        ax.plot(
            result["lrs"], ys, color=color, marker=marker, label=label, markersize=6, linewidth=1.0
        )
    for name, y in rows.items():
        ax.axhline(y, color="0.8", linewidth=6, zorder=0)
        ax.text(
            1.0,
            y,
            f" {name}",
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize=9,
            clip_on=False,
        )
    ax.axhline(steps, color="0.5", linestyle=":", linewidth=1.0)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"step size $\varepsilon$")
    ax.set_ylabel(rf"steps until $f \leq$ {tol:.0e}")
    ax.legend(loc="lower left")
    return results
