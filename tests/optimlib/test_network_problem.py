"""Tests of optimlib.problems.Network: an MLP classifier on data as a finite-sum problem."""

from __future__ import annotations

import numpy as np
import pytest

import optimlib as ol
from optimlib.problems import Network


def make(N=40, sizes=(2, 5, 2), seed=0):
    X, y = ol.problems.two_spirals(N, np.random.default_rng(seed), turns=1.0)
    mlp = ol.nn.MLP(list(sizes), activation="tanh")
    return Network(mlp, X, y, rng=np.random.default_rng(seed + 1)), mlp, X, y


def test_loss_is_the_mlps_and_the_gradient_matches_finite_differences():
    net, mlp, X, y = make()
    theta = net.x0
    assert net.dim == mlp.num_params and net.N == 40
    assert np.isclose(net.f(theta), mlp.loss(theta, X, y), rtol=1e-13)
    assert ol.nn.gradient_check(net.f, net.grad, theta) < 1e-7
    per_example = net.per_example_grads(theta)
    assert per_example.shape == (40, net.dim)
    assert np.allclose(per_example.mean(axis=0), net.grad(theta), rtol=1e-12, atol=1e-15)


def test_f_takes_a_stack_of_points():
    net, *_ = make()
    stack = np.stack([net.x0, 2 * net.x0, np.zeros(net.dim)])
    values = net.f(stack)
    assert values.shape == (3,)
    assert np.allclose(values, [net.f(t) for t in stack], rtol=1e-13)
    assert np.isclose(values[2], np.log(2))  # zero weights: uniform over two classes


def test_minibatch_oracle_full_batch_is_the_gradient_and_is_unbiased():
    net, *_ = make()
    rng = np.random.default_rng(7)
    full = net.oracle(net.N, rng)(net.x0)
    assert np.allclose(full, net.grad(net.x0), rtol=1e-12, atol=1e-15)
    summed = net.minibatch_grad(net.x0, net.N, rng, reduction="sum")
    assert np.allclose(summed, net.N * net.grad(net.x0), rtol=1e-12, atol=1e-14)
    oracle = net.oracle(4, rng)
    mean = np.mean([oracle(net.x0) for _ in range(4000)], axis=0)
    # the standard error of 4000 draws is about s / sqrt(4 * 4000); allow four of them
    spread = np.sqrt(net.minibatch_variance(net.x0, 4) / 4000)
    assert np.linalg.norm(mean - net.grad(net.x0)) < 4 * spread


def test_minimize_trains_it_with_minibatches_and_counts_gradients():
    net, *_ = make(N=100, sizes=(2, 16, 2))
    history = ol.minimize(net, ol.Adam(0.05), 300, batch_size=10, rng=np.random.default_rng(3))
    assert history.grad_evals == 300 and history.examples == 3000
    assert history.final_loss < 0.7 * history.losses[0]
    assert net.accuracy(history.theta) > net.accuracy(net.x0)
    assert net.f_star is None and net.x_star is None


def test_x0_and_data_are_read_only_and_x0_can_be_given():
    net, mlp, X, y = make()
    with pytest.raises(ValueError):
        net.x0[0] = 1.0
    with pytest.raises(ValueError):
        net.labels[0] = 1
    given = Network(mlp, X, y, x0=np.ones(mlp.num_params))
    assert np.array_equal(given.x0, np.ones(mlp.num_params))


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda mlp, X, y: Network("mlp", X, y, rng=np.random.default_rng(0)), "mlp"),
        (
            lambda mlp, X, y: Network(
                ol.nn.MLP([2, 3, 1], loss="mse"), X, y, rng=np.random.default_rng(0)
            ),
            "mlp",
        ),
        (
            lambda mlp, X, y: Network(
                ol.nn.MLP([2, 3, 2], batch_norm=True), X, y, rng=np.random.default_rng(0)
            ),
            "mlp",
        ),
        (lambda mlp, X, y: Network(mlp, X, y), "rng"),
        (lambda mlp, X, y: Network(mlp, X, y, rng=0), "rng"),
        (lambda mlp, X, y: Network(mlp, X[:, :1], y, rng=np.random.default_rng(0)), "X"),
        (lambda mlp, X, y: Network(mlp, X, y + 5, rng=np.random.default_rng(0)), "y"),
        (lambda mlp, X, y: Network(mlp, X, y, x0=np.ones(3)), "x0"),
    ],
)
def test_bad_input_names_the_parameter(build, name):
    _, mlp, X, y = make()
    with pytest.raises(ValueError, match=name):
        build(mlp, X, y)


def test_bad_batch_size_names_m():
    net, *_ = make()
    with pytest.raises(ValueError, match="m must be"):
        net.oracle(0, np.random.default_rng(0))
