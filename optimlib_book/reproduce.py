"""What a rerun of chapter 9's stored data can be expected to reproduce, on any machine.

A run is re-run and compared with the file. How closely it must agree is measured, not
assumed: the same run is repeated from a start nudged by :data:`NUDGE` (relative), which
is larger than the last-bit differences two CPUs or BLAS builds make in one step, and
the nudge's effect on the result is the run's own amplification of rounding.

* Most runs contract: the nudge's effect stays near 1e-12, and a rerun must agree with
  the file within :data:`SAFETY` times that effect (never tighter than :data:`FLOOR`).
  Measured on an AVX2 machine against the file written on an AVX-512 one: the largest
  ratio of the real difference to the nudge's effect was 3.5 (Adam on the quadratic,
  full length), hence a factor of 100.
* A gap f - f* is the difference of two numbers of f*'s size, each exact only to a
  few ulps of it, which depend on the order numpy and BLAS sum in, not on the run: two
  machines' gaps differ by that much even where the nudge moves nothing (Adam on the
  quadratic, f* = -2540.9: stored 1.4338002e-7, rerun 1.4337957e-7 with numpy's AVX2
  loops, one ulp of f* apart, nudge effect 0). Differences within
  :func:`gap_resolution` (:data:`RESOLUTION_ULPS` ulps of f*; up to 4 were measured) do
  not count.
* A run that the nudge moves by more than :data:`CHAOTIC` (relative) is chaotic: the
  network trained at large learning rates, or Adadelta near Rosenbrock's minimum.
  Another machine gives another sample of it, so only its spread over seeds is
  reproducible: the rerun must lie inside the band the stored seeds span, widened on
  either side by twice that band's own width (on a log scale). Once the band's width
  was not enough: a rerun of Adadelta's network with numpy's SIMD loops off dipped to
  0.290 at step 80, where five stored seeds spanned 0.84 to 2.39.
"""

from __future__ import annotations

import numpy as np

from optimlib.compare import summarize

NUDGE = 1e-12
SAFETY = 100.0
FLOOR = 1e-9
CHAOTIC = 1e-3
RESOLUTION_ULPS = 16
WIDEN = 2.0  # the band is widened by its own width (in log) to this power on each side


def nudged(make_problem, size: float = NUDGE):
    """``make_problem`` with its start moved by ``size`` relative, alternating in sign."""

    def make(seed):
        problem, x0 = make_problem(seed)
        signs = np.where(np.arange(x0.size) % 2, 1.0, -1.0).reshape(x0.shape)
        return problem, x0 * (1 + size * signs)

    return make


def gap_resolution(f_star) -> float:
    """The smallest difference of two machines' gaps f - f* that says anything about the
    run: :data:`RESOLUTION_ULPS` ulps of f* (0 when the measure is the loss itself)."""
    return 0.0 if f_star is None else RESOLUTION_ULPS * float(np.spacing(abs(f_star)))


def _array(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in np.atleast_1d(values)], float)


def relative_difference(a, b, resolution: float = 0.0) -> float:
    """Largest relative difference of two curves (None = diverged; both None agree),
    after taking ``resolution`` off each absolute difference (:func:`gap_resolution`).

    inf when one diverged and the other did not.
    """
    a, b = _array(a), _array(b)
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return np.inf
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    scale = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        beyond = np.maximum(np.abs(a - b) - resolution, 0.0)
        relative = np.where(scale > 0, beyond / scale, 0.0)
    return float(relative.max(initial=0.0))


def widened_band(curves) -> tuple[np.ndarray, np.ndarray]:
    """Per point, the stored seeds' range widened by :data:`WIDEN` times its own width
    on a log scale."""
    # compare.summarize counts a diverged seed (None) as inf: then the band has no top
    ends = [summarize(point, (0.0, 1.0)) for point in zip(*curves, strict=True)]
    low, high = np.array(ends, dtype=float).T
    high = np.where(np.isnan(high), np.inf, high)
    with np.errstate(divide="ignore", invalid="ignore"):
        width = np.where(np.isfinite(high), (high / low) ** WIDEN, np.inf)
    return low / width, high * width


def verdict(stored, rerun, nudged_rerun, seeds_curves, resolution: float = 0.0) -> dict:
    """Does ``rerun`` reproduce ``stored``? See the module docstring for the rule;
    ``resolution``: :func:`gap_resolution` of the problem's f*, for gaps."""
    effect = relative_difference(rerun, nudged_rerun)
    difference = relative_difference(stored, rerun, resolution)
    if effect <= CHAOTIC:
        tolerance = max(FLOOR, SAFETY * effect)
        return {
            "kind": "reproducible",
            "effect": effect,
            "difference": difference,
            "tolerance": tolerance,
            "ok": difference <= tolerance,
        }
    low, high = widened_band(seeds_curves)
    values = _array(rerun)
    # a diverged rerun (nan) is inside only where a stored seed diverged too (high = inf)
    inside = bool(np.all((values >= low) & (values <= high) | np.isnan(values) & np.isinf(high)))
    return {"kind": "chaotic", "effect": effect, "difference": difference, "ok": inside}
