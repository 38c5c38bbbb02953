"""Chapter 6, adaptive learning rates: watch the per-coordinate step of AdaGrad, RMSProp, Adam.

The adaptive methods divide each coordinate of the gradient by a running root mean
square of its past values. To see what that division does, this module feeds an
optimizer a *gradient stream*, a given sequence g_0, g_1, ... that does not depend on
theta (:class:`Stream`), and records every step and every state
(``optimlib.minimize(..., record_state=...)``). Because
the gradients ignore theta, the states s_k and r_k are exactly those of any run that
meets the same gradients, which lets a chapter compute what a *variant* of the method
would do from the same state (:func:`uncorrected_adam_steps`: Adam without its bias
correction) without writing a second optimizer.

* :func:`effective_lr`: the factor that multiplies g (AdaGrad, RMSProp) or s_hat (Adam)
  coordinate by coordinate: eps / (delta + sqrt(r)), eps / root(r), eps / root(r_hat).
* :func:`stationary_step`: |Delta theta| / eps once r has settled at g^2, in the two
  places the literature puts delta: |g| / sqrt(g^2 + delta) or |g| / (|g| + delta).
* :func:`settle_time`: how many steps RMSProp's step needs, after the gradient scale
  changes, to come back within a given fraction of its new level (the theory the
  explorer measures against).
* :func:`panel`: the explorer. RMSProp meets a gradient whose scale falls in stages
  (1, then 1e-2, then 1e-4 by default), once with delta inside the square root (the
  lecture) and once outside (Kingma & Ba, PyTorch): ``rho`` sets how fast the step
  recovers after each fall, ``delta`` sets the gradient scale below which it cannot.
"""

from __future__ import annotations

import math

import numpy as np

from optimlib import _checks
from optimlib.optimizers import AdaGrad, Adam, Optimizer, RMSProp
from optimlib.problems import Problem
from optimlib.run import History, minimize

__all__ = [
    "FORMS",
    "Stream",
    "effective_lr",
    "panel",
    "settle_time",
    "stages",
    "stationary_step",
    "uncorrected_adam_steps",
]

FORMS = {True: r"$\sqrt{\delta + r}$ (lecture)", False: r"$\sqrt{r} + \delta$ (Kingma & Ba)"}


# --- feeding an optimizer a given sequence of gradients --------------------------------------


class Stream(Problem):
    """Gradients given in advance: the k-th gradient asked for is ``gradients[k]``,
    whatever theta is, so that :func:`optimlib.minimize` records a run on them.

    ``gradients`` has shape (steps, dim). A stream has no objective: ``f`` is 0
    everywhere (the History's losses say nothing). Asking for more gradients than were
    given raises ``ValueError``, so a run cannot quietly reuse the last one; a stream
    serves one run.
    """

    name = "gradient stream"

    def __init__(self, gradients):
        gradients = np.asarray(gradients, dtype=np.float64)
        if gradients.ndim != 2 or len(gradients) == 0:
            raise ValueError(
                f"gradients: give an array of shape (steps, dim); got {gradients.shape}"
            )
        self.gradients, self.calls = gradients, 0
        self.dim = gradients.shape[1]
        self.x0 = np.zeros(self.dim)

    def f(self, x):
        x = self._points(x)
        return 0.0 if x.ndim == 1 else np.zeros(x.shape[:-1])

    def grad(self, x) -> np.ndarray:
        self._point(x)
        if self.calls >= len(self.gradients):
            raise ValueError(f"stream: only {len(self.gradients)} gradients were given")
        self.calls += 1
        return self.gradients[self.calls - 1]


# --- the per-coordinate step ------------------------------------------------------------------


def effective_lr(optimizer: Optimizer, r, t=None, eps=None) -> np.ndarray:
    """The factor that multiplies the gradient (or Adam's s_hat), coordinate by coordinate.

    AdaGrad: eps / (delta + sqrt(r)); RMSProp: eps / root(r); Adam: eps / root(r_hat) with
    r_hat = r / (1 - rho2^t), t the step count stored with r. ``root`` is sqrt(delta + r)
    or sqrt(r) + delta as the optimizer's ``delta_in_sqrt`` says. ``r`` may be a stack of
    states (e.g. ``history.states["r"]``); ``t`` then a matching array. ``eps``
    defaults to the optimizer's (constant) learning rate.
    """
    eps = optimizer.lr_at(0) if eps is None else _checks.positive("eps", eps)
    r = np.asarray(r, dtype=np.float64)
    if isinstance(optimizer, AdaGrad):
        return eps / (optimizer.delta + np.sqrt(r))
    if isinstance(optimizer, RMSProp):
        return eps / optimizer.root(r)
    if isinstance(optimizer, Adam):
        if t is None:
            raise ValueError("t: Adam's effective learning rate needs the step count t")
        t = np.asarray(t, dtype=np.float64).reshape(np.shape(t) + (1,) * (r.ndim - np.ndim(t)))
        return eps / optimizer.root(r / (1 - optimizer.rho2**t))
    raise ValueError(f"optimizer: AdaGrad, RMSProp or Adam; got {type(optimizer).__name__}")


def uncorrected_adam_steps(optimizer: Adam, run: History) -> np.ndarray:
    """The steps Adam would take from the recorded states *without* bias correction.

    -eps s_t / root(r_t), with the s_t, r_t of ``run`` (a run of ``optimizer`` on a
    :class:`Stream` that recorded ``("s", "r")``: there the states do not depend on the
    iterates, so this is exactly the run of the uncorrected method).
    """
    if not isinstance(optimizer, Adam):
        raise ValueError(f"optimizer must be an Adam; got {type(optimizer).__name__}")
    eps = optimizer.lr_at(0)
    return -eps * run.states["s"] / optimizer.root(run.states["r"])


def stationary_step(g, delta: float, delta_in_sqrt: bool) -> np.ndarray:
    """|Delta theta| / eps when the second moment has settled at r = g^2 (and s at g).

    ``delta_in_sqrt=True``: |g| / sqrt(g^2 + delta), about 1 for |g| >> sqrt(delta) and
    |g| / sqrt(delta) below; ``False``: |g| / (|g| + delta), about 1 down to |g| ~ delta.
    This is also the exact size of Adam's first (bias-corrected) step.
    """
    g = np.abs(np.asarray(g, dtype=np.float64))
    delta = _checks.nonnegative("delta", delta)
    if _checks.boolean("delta_in_sqrt", delta_in_sqrt):
        return g / np.sqrt(g * g + delta)
    return g / (g + delta)


def settle_time(
    rho: float, r_old: float, scale: float, delta: float, delta_in_sqrt: bool, within=0.1
) -> int:
    """Steps after the gradient magnitude jumps to ``scale`` until RMSProp's step is back
    within ``within`` (a fraction) of its new stationary size.

    With a constant magnitude, r_n = scale^2 + (r_old - scale^2) rho^n exactly, so the
    step eps scale / root(r_n) is monotone in n and its distance to eps scale / root(scale^2)
    can be solved for: the first n (counting the step that first sees the new scale as
    n = 1) at which it is within the fraction. A memory of about 1 / (1 - rho) steps
    times the logarithm of how far r has to travel.
    """
    rho = _checks.unit_interval("rho", rho)
    target = scale * scale
    root = (lambda r: np.sqrt(delta + r)) if delta_in_sqrt else (lambda r: np.sqrt(r) + delta)
    final = float(root(target))
    if r_old == target:
        return 1
    # Step n uses r_n; find the first n where root(r_n) is within the fraction of final.
    lo = final * (1 - within) if r_old < target else None
    hi = final / (1 - within) if r_old > target else None
    n = 1
    gap = r_old - target
    while n < 10**7:
        r_n = target + gap * rho**n
        value = float(root(r_n))
        if (hi is not None and value <= hi) or (lo is not None and value >= lo):
            return n
        n += 1
    raise ValueError("settle_time: did not settle within 10^7 steps")


# --- the explorer -----------------------------------------------------------------------------


def stages(scales, length: int) -> np.ndarray:
    """Gradient magnitudes: ``length`` steps at each of ``scales`` in turn."""
    length = _checks.positive_int("length", length)
    scales = np.asarray(scales, dtype=np.float64)
    if scales.ndim != 1 or len(scales) == 0 or not (scales > 0).all():
        raise ValueError(f"scales must be a non-empty list of positive numbers; got {scales!r}")
    return np.repeat(scales, length)


def panel(
    ax,
    rho: float = 0.9,
    delta: float = 1e-6,
    scales=(1.0, 1e-2, 1e-4),
    stage: int = 200,
    eps: float = 1e-3,
    within: float = 0.1,
):
    """RMSProp's step size when the gradient's scale falls in stages, for both deltas.

    The gradient is g_k = ``scales[i]`` for ``stage`` steps at a time (one coordinate).
    Draws |Delta theta_k| / eps against k on a log scale, once for delta inside the
    square root and once outside, with the stationary sizes (:func:`stationary_step`)
    dashed. Returns a dict of lists, one entry per stage:

    * ``plateau_inside``, ``plateau_outside``: the measured |Delta theta| / eps at the
      stage's last step; ``theory_inside``, ``theory_outside``: the stationary sizes;
    * ``settle_inside``, ``settle_outside``: steps after the stage began until the step
      stays within the fraction ``within`` of its stationary size (None if it does not
      within the stage; always None for the first stage, which starts from r = 0);
    * ``memory``: 1 / (1 - rho).
    """
    rho = _checks.unit_interval("rho", rho)
    delta = _checks.nonnegative("delta", delta)
    magnitudes = stages(scales, stage)
    scales = np.asarray(scales, dtype=np.float64)
    k = np.arange(1, len(magnitudes) + 1)
    result = {"memory": 1 / (1 - rho), "scales": scales.tolist()}
    colours = {True: "#D55E00", False: "#0072B2"}
    markers = {True: "s", False: "o"}
    for inside in (True, False):
        name = "inside" if inside else "outside"
        optimizer = RMSProp(lr=eps, rho=rho, delta=delta, delta_in_sqrt=inside)
        run = minimize(Stream(magnitudes[:, None]), optimizer, len(magnitudes))
        size = np.abs(np.diff(run.thetas[:, 0])) / eps
        plateaus, settles = [], []
        for i, s in enumerate(scales):
            block = size[i * stage : (i + 1) * stage]
            plateaus.append(float(block[-1]))
            theory = float(stationary_step(s, delta, inside))
            close = (block >= (1 - within) * theory) & (block <= theory / (1 - within))
            # the first step after which the block stays within the band
            outside_band = np.flatnonzero(~close)
            first = 0 if outside_band.size == 0 else int(outside_band[-1]) + 1
            settles.append(None if i == 0 or first >= stage else first + 1)
        result[f"plateau_{name}"] = plateaus
        result[f"theory_{name}"] = [float(stationary_step(s, delta, inside)) for s in scales]
        result[f"settle_{name}"] = settles
        ax.plot(
            k,
            size,
            color=colours[inside],
            marker=markers[inside],
            markevery=(0 if inside else len(k) // 24, max(1, len(k) // 12)),
            linewidth=3.2 if inside else 1.6,
            alpha=0.7 if inside else 1.0,
            label=FORMS[inside],
        )
        for i, theory in enumerate(result[f"theory_{name}"]):
            ax.plot(
                [i * stage + 1, (i + 1) * stage],
                [theory, theory],
                color=colours[inside],
                linestyle="--",
                linewidth=1.0,
            )
    for i, s in enumerate(scales):
        if i > 0:
            ax.axvline(i * stage + 0.5, color="0.6", linewidth=0.8)
        ax.annotate(
            f"$|g| = 10^{{{math.log10(s):.0f}}}$" if math.log10(s).is_integer() else f"|g|={s:.2g}",
            xy=((i + 0.5) * stage, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, -4),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=9,
        )
    ax.set_yscale("log")
    low = min(min(result["plateau_inside"]), min(result["plateau_outside"]))
    ax.set_ylim(max(1e-4, 0.3 * min(low, 1e-2)), 4.0)
    ax.set_xlim(0, len(k) + 1)
    ax.set_xlabel("step $k$")
    ax.set_ylabel(r"step size $|\Delta\theta_k| / \varepsilon$")
    ax.legend(loc="lower left", fontsize=8.5)
    return result
