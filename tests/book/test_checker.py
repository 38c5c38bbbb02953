"""The exercise checker tells correct student code from subtly wrong code, and says why.

Every implementation below is written here, independently of optimlib and of the
mistakes listed in ``optimlib_book.checker_cases``, the way a student would write it
from the algorithm box. Correct ones must pass on every problem the checker can draw
(hypothesis picks the seed), also when they order the floating-point operations
differently; each wrong one must fail at the step where it first differs, in the
variable where it first differs, with the hint that names its mistake.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimlib_book import checker
from optimlib_book.checker_cases import CASES

SEEDS = st.integers(min_value=0, max_value=2**32 - 1)


# --- correct implementations, as a student writes them ---------------------------------


def sgd_step(theta, grad_fn, state, eps0, eps_tau, tau):
    k = state["k"]
    eps = (1 - k / tau) * eps0 + (k / tau) * eps_tau if k <= tau else eps_tau
    state["k"] = k + 1
    return theta - eps * grad_fn(theta)


def momentum_step(theta, grad_fn, state, eps, alpha):
    state["v"] = alpha * state["v"] - eps * grad_fn(theta)
    return theta + state["v"]


def nesterov_step(theta, grad_fn, state, eps, alpha):
    g = grad_fn(theta + alpha * state["v"])
    state["v"] = alpha * state["v"] - eps * g
    return theta + state["v"]


def adagrad_step(theta, grad_fn, state, eps, delta):
    g = grad_fn(theta)
    state["r"] += g**2  # in place, and g**2 instead of g * g: both harmless
    return theta - (eps / (delta + np.sqrt(state["r"]))) * g  # reordered


def rmsprop_step(theta, grad_fn, state, eps, rho, delta):
    g = grad_fn(theta)
    state["r"] = rho * state["r"] + (1 - rho) * g * g
    return theta - eps * g / np.sqrt(delta + state["r"])


def adam_step(theta, grad_fn, state, eps, rho1, rho2, delta):
    g = grad_fn(theta)
    t = state["t"] = state["t"] + 1
    s = state["s"] = rho1 * state["s"] + (1 - rho1) * g
    r = state["r"] = rho2 * state["r"] + (1 - rho2) * g * g
    s_hat, r_hat = s / (1 - rho1**t), r / (1 - rho2**t)
    return theta + (-eps * s_hat) / (np.sqrt(r_hat) + delta)


def adamw_step(theta, grad_fn, state, eps, rho1, rho2, delta, weight_decay):
    g = grad_fn(theta)
    decayed = theta - eps * weight_decay * theta  # (1 - eps lambda) theta, reordered
    return adam_step(decayed, lambda _: g, state, eps, rho1, rho2, delta)


def clip_by_norm(g, max_norm):
    norm = np.linalg.norm(g)
    return g * min(1.0, max_norm / norm)


def batch_norm_backward(g, H_hat, sigma):
    m = g.shape[0]
    return (m * g - g.sum(axis=0) - H_hat * (g * H_hat).sum(axis=0)) / (m * sigma)


CORRECT = {
    "sgd": sgd_step,
    "momentum": momentum_step,
    "nesterov": nesterov_step,
    "adagrad": adagrad_step,
    "rmsprop": rmsprop_step,
    "adam": adam_step,
    "adamw": adamw_step,
    "clip_by_norm": clip_by_norm,
    "batch_norm_backward": batch_norm_backward,
}


def test_every_method_has_a_correct_implementation_here():
    assert set(CORRECT) == set(checker.METHODS)


@settings(max_examples=6, deadline=None)
@given(seed=SEEDS)
@pytest.mark.parametrize("method", sorted(CORRECT))
def test_correct_implementations_pass_on_every_problem(method, seed):
    report = checker.check(method, CORRECT[method], seed=seed, verbose=False)
    assert report.passed, report.message
    assert report.message.startswith("Correct:")


def test_success_is_printed_with_the_tolerance(capsys):
    assert checker.check("adam", adam_step)
    printed = capsys.readouterr().out
    assert "agrees with optimlib's reference for Adam (Algorithm 8.7)" in printed
    assert "t, s, r, theta within 1e-12 relative" in printed


@settings(max_examples=20, deadline=None)
@given(seed=SEEDS, size=st.floats(min_value=-14.5, max_value=-13))
def test_rounding_sized_differences_pass_and_larger_ones_fail(seed, size):
    """A relative perturbation of 10^-14.5 .. 10^-13 (a few roundings of float64, what
    reordering produces) passes; the same perturbation at 1e-9 fails, in theta."""

    def nudged(factor):
        def step(theta, grad_fn, state, eps, rho1, rho2, delta):
            return adam_step(theta, grad_fn, state, eps, rho1, rho2, delta) * factor

        return step

    assert checker.check("adam", nudged(1 + 10**size), seed=seed, verbose=False)
    report = checker.check("adam", nudged(1 + 1e-9), seed=seed, verbose=False)
    assert not report and report.step == 0 and report.variable == "theta"
    assert report.relative == pytest.approx(1e-9, rel=1e-3)


# --- subtly wrong implementations: caught, located and named ---------------------------


def adam_without_bias_correction(theta, grad_fn, state, eps, rho1, rho2, delta):
    g = grad_fn(theta)
    state["t"] += 1
    state["s"] = rho1 * state["s"] + (1 - rho1) * g
    state["r"] = rho2 * state["r"] + (1 - rho2) * g * g
    return theta - eps * state["s"] / (np.sqrt(state["r"]) + delta)


def adam_delta_inside(theta, grad_fn, state, eps, rho1, rho2, delta):
    g = grad_fn(theta)
    state["t"] += 1
    state["s"] = rho1 * state["s"] + (1 - rho1) * g
    state["r"] = rho2 * state["r"] + (1 - rho2) * g * g
    s_hat = state["s"] / (1 - rho1 ** state["t"])
    r_hat = state["r"] / (1 - rho2 ** state["t"])
    return theta - eps * s_hat / np.sqrt(r_hat + delta)


def rmsprop_delta_outside(theta, grad_fn, state, eps, rho, delta):
    g = grad_fn(theta)
    state["r"] = rho * state["r"] + (1 - rho) * g * g
    return theta - eps * g / (np.sqrt(state["r"]) + delta)


def adagrad_without_square(theta, grad_fn, state, eps, delta):
    g = grad_fn(theta)
    state["r"] = state["r"] + g
    return theta - eps * g / (delta + np.sqrt(state["r"]))


def momentum_positive_velocity(theta, grad_fn, state, eps, alpha):
    state["v"] = alpha * state["v"] + eps * grad_fn(theta)
    return theta - state["v"]


def momentum_torch_buffer(theta, grad_fn, state, eps, alpha):
    state["v"] = alpha * state["v"] + grad_fn(theta)
    return theta - eps * state["v"]


def nesterov_positive_velocity(theta, grad_fn, state, eps, alpha):
    g = grad_fn(theta - alpha * state["v"])  # the right point, in the flipped convention
    state["v"] = alpha * state["v"] + eps * g
    return theta - state["v"]


def nesterov_at_theta(theta, grad_fn, state, eps, alpha):
    return momentum_step(theta, grad_fn, state, eps, alpha)


def sgd_without_hold(theta, grad_fn, state, eps0, eps_tau, tau):
    k = state["k"]
    state["k"] = k + 1
    return theta - ((1 - k / tau) * eps0 + (k / tau) * eps_tau) * grad_fn(theta)


def clip_by_value(g, max_norm):
    return np.clip(g, -max_norm, max_norm)


def batch_norm_backward_without_means(g, H_hat, sigma):
    return g / sigma


def adamw_as_l2(theta, grad_fn, state, eps, rho1, rho2, delta, weight_decay):
    g = grad_fn(theta) + weight_decay * theta
    return adam_step(theta, lambda _: g, state, eps, rho1, rho2, delta)


WRONG = [
    # method, implementation, first step, first variable, words of the hint
    ("adam", adam_without_bias_correction, 0, "theta", "bias correction is missing"),
    ("adam", adam_delta_inside, 0, "theta", "delta is inside the root"),
    ("rmsprop", rmsprop_delta_outside, 0, "theta", "delta is outside the root"),
    ("adagrad", adagrad_without_square, 0, "r", "r accumulates g, not its square"),
    ("momentum", momentum_positive_velocity, 0, "v", "opposite sign"),
    ("momentum", momentum_torch_buffer, 0, "v", "PyTorch's buffer"),
    ("nesterov", nesterov_positive_velocity, 0, "v", "opposite sign"),
    ("nesterov", nesterov_at_theta, 1, "grad point", "look-ahead point theta + alpha v"),
    ("sgd", sgd_without_hold, 9, "theta", "keeps decaying after tau"),
    ("clip_by_norm", clip_by_value, 0, "clipped g", "clipping by value"),
    ("batch_norm_backward", batch_norm_backward_without_means, 0, "dL/dH", "both mean terms"),
    ("adamw", adamw_as_l2, 0, "s", "added to the gradient"),
]


@settings(max_examples=5, deadline=None)
@given(seed=SEEDS)
@pytest.mark.parametrize(("method", "wrong", "step", "variable", "hint"), WRONG)
def test_wrong_implementations_fail_with_the_right_diagnosis(
    method, wrong, step, variable, hint, seed
):
    report = checker.check(method, wrong, seed=seed, verbose=False)
    assert not report.passed
    assert (report.step, report.variable) == (step, variable), report.message
    assert any(hint in h for h in report.hints), report.message
    assert f"Hint: {report.hints[0]}" in report.message
    # far beyond rounding: the mildest mistake (delta's place) still differs by > 1e-8
    assert report.relative > 1e-8


def test_the_failure_message_names_step_variable_and_values(capsys):
    report = checker.check("adam", adam_without_bias_correction)
    printed = capsys.readouterr().out
    assert printed.strip() == report.message
    lines = report.message.splitlines()
    assert lines[0] == "Not yet: Adam (Algorithm 8.7), step 0, differs in theta (the parameters)."
    assert lines[1].startswith("  expected theta = [") and lines[2].startswith(
        "  got      theta = ["
    )
    assert "relative to the largest entry (allowed: 1e-12)" in lines[3]


@pytest.mark.parametrize("method", sorted(CASES))
def test_every_listed_mistake_fails_and_is_recognised(method):
    """Each mistake of the catalogue, handed in as student code, is told apart from the
    reference and named by its own hint (on two problems)."""
    for mistake in CASES[method].mistakes:
        for seed in (0, 1):
            report = checker.check(method, mistake.fn, seed=seed, verbose=False)
            assert not report.passed, mistake.hint
            assert mistake.hint in report.hints, (mistake.hint, report.message)


def test_a_skeleton_that_returns_theta_is_told_what_to_do():
    def skeleton(theta, grad_fn, state, eps, alpha):
        grad_fn(theta)
        return theta

    report = checker.check("momentum", skeleton, verbose=False)
    assert (report.step, report.variable) == (0, "v")

    def lazy(theta, grad_fn, state, eps, rho1, rho2, delta):
        return theta

    report = checker.check("adam", lazy, verbose=False)
    assert report.hints == ("adam_step never called grad_fn: the gradient is g = grad_fn(...)",)

    def unchanged(theta, grad_fn, state, eps0, eps_tau, tau):
        grad_fn(theta)
        state["k"] += 1
        return theta

    report = checker.check("sgd", unchanged, verbose=False)
    assert report.variable == "theta" and "returned theta unchanged" in report.hints[0]
    report = checker.check("clip_by_norm", lambda g, max_norm: g, verbose=False)
    unchanged_g = "clip_by_norm returned g unchanged: compute the new g"
    assert (report.step, report.hints) == (0, (unchanged_g,))


def test_a_nan_is_reported_as_a_difference_without_warnings():
    def sqrt_of_negative(theta, grad_fn, state, eps, delta):
        g = grad_fn(theta)
        state["r"] = state["r"] - g * g
        return theta - eps * g / (delta + np.sqrt(state["r"]))

    with np.errstate(all="raise"):  # the checker silences the student's own warnings
        report = checker.check("adagrad", sqrt_of_negative, verbose=False)
    assert (report.step, report.variable) == (0, "r")
    report = checker.check("adagrad", adagrad_without_square, seed=3, verbose=False)
    assert not report.passed


# --- what is refused: not a wrong answer but a wrong function ---------------------------


def test_wrong_signature_is_a_type_error_that_shows_the_expected_one():
    def wrong_names(theta, grad_fn, state, lr, beta1, beta2, eps):
        return theta

    with pytest.raises(TypeError, match=r"adam_step\(theta, grad_fn, state, eps, rho1"):
        checker.check("adam", wrong_names)
    with pytest.raises(TypeError, match="must take"):
        checker.check("clip_by_norm", lambda g: g)
    with pytest.raises(TypeError, match="fn must be your function"):
        checker.check("adam", "adam_step")


def test_wrong_return_values_are_refused():
    with pytest.raises(ValueError, match=r"shape \(2,\); it must have shape \(4,\)"):
        checker.check("momentum", lambda theta, grad_fn, state, eps, alpha: theta[:2])
    with pytest.raises(TypeError, match="returned None"):
        checker.check("rmsprop", lambda theta, grad_fn, state, eps, rho, delta: None)
    with pytest.raises(ValueError, match=r"shape \(8,\); it must have shape \(8, 3\)"):
        checker.check("batch_norm_backward", lambda g, H_hat, sigma: g.sum(axis=1))
    with pytest.raises(TypeError, match="array of numbers"):
        checker.check("clip_by_norm", lambda g, max_norm: {"g": g})


def test_a_lost_or_reshaped_state_variable_is_refused():
    def loses_v(theta, grad_fn, state, eps, alpha):
        del state["v"]
        return theta - eps * grad_fn(theta)

    with pytest.raises(ValueError, match=r"removed state\['v'\]: keep v \(the velocity\)"):
        checker.check("momentum", loses_v)

    def scalar_r(theta, grad_fn, state, eps, delta):
        g = grad_fn(theta)
        state["r"] = np.sum(g * g)
        return theta - eps * g

    with pytest.raises(ValueError, match=r"state\['r'\] with shape \(\)"):
        checker.check("adagrad", scalar_r)


def test_bad_arguments_of_check():
    with pytest.raises(ValueError, match="method must be one of sgd, momentum"):
        checker.check("adadelta", adam_step)
    with pytest.raises(ValueError, match="steps must be an integer >= 1"):
        checker.check("adam", adam_step, steps=0)
    assert checker.signature("sgd") == "sgd_step(theta, grad_fn, state, eps0, eps_tau, tau)"
