"""Tests of optimlib.nn: every value and every hand-derived gradient against PyTorch (float64)."""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from optimlib import nn

# the independent reference: installed with the test tools, but not on every Python
torch = pytest.importorskip("torch")
F = torch.nn.functional

torch.set_num_threads(1)  # tiny tensors: threads only add overhead

RTOL = 1e-10  # float64 agreement with torch; both sides round differently, never by more


@contextmanager
def no_floating_point_trouble():
    """Fail on any numpy floating-point event (even underflow) and on any warning at all."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            yield


def t64(a) -> torch.Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float64))


# --- softmax, log_softmax, logsumexp ---------------------------------------------------

EXTREME_ROWS = [
    [1000.0, 1000.0],
    [-1000.0, -1000.0],
    [1000.0, -1000.0, 0.0],
    [-1000.0, -999.0, -1001.0],
    [1e308, -1e308, 0.0],
    [-np.inf, 0.0, 3.0],
    [0.0, 0.0, 0.0],
]

finite_logits = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5),
    elements=st.floats(-1e300, 1e300) | st.floats(-1000, 1000),
)


@pytest.mark.parametrize("row", EXTREME_ROWS)
def test_softmax_family_matches_torch_on_extreme_rows_without_warnings(row):
    z = np.array(row)
    with no_floating_point_trouble():
        p, log_p, lse = nn.softmax(z), nn.log_softmax(z), nn.logsumexp(z)
    np.testing.assert_allclose(p, torch.softmax(t64(z), -1).numpy(), rtol=RTOL, atol=0)
    np.testing.assert_allclose(log_p, torch.log_softmax(t64(z), -1).numpy(), rtol=RTOL)
    np.testing.assert_allclose(lse, torch.logsumexp(t64(z), -1).item(), rtol=RTOL)
    assert np.sum(p) == pytest.approx(1.0, abs=1e-15)


@settings(max_examples=60, deadline=None)
@given(z=finite_logits, axis=st.integers(-1, 0))
def test_softmax_family_matches_torch_for_any_finite_input(z, axis):
    with no_floating_point_trouble():
        p = nn.softmax(z, axis=axis)
        log_p = nn.log_softmax(z, axis=axis)
        lse = nn.logsumexp(z, axis=axis)
    zt = t64(z)
    np.testing.assert_allclose(p, torch.softmax(zt, axis).numpy(), rtol=RTOL, atol=1e-300)
    np.testing.assert_allclose(log_p, torch.log_softmax(zt, axis).numpy(), rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(lse, torch.logsumexp(zt, axis).numpy(), rtol=RTOL, atol=1e-12)
    np.testing.assert_allclose(np.sum(p, axis=axis), 1.0, rtol=1e-14)
    assert np.all(np.isfinite(log_p))
    assert p.shape == log_p.shape == z.shape


def test_float32_stays_float32_and_matches_torch():
    z = np.array([[1000, -1000, 3], [88, 89, 90], [-3e38, 3e38, 0]], dtype=np.float32)
    with no_floating_point_trouble():
        outputs = nn.softmax(z), nn.log_softmax(z), nn.logsumexp(z)
    zt = torch.tensor(z)
    expected = torch.softmax(zt, -1), torch.log_softmax(zt, -1), torch.logsumexp(zt, -1)
    for ours, theirs in zip(outputs, expected, strict=True):
        assert ours.dtype == np.float32
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-6)


def test_integer_input_becomes_float64_and_logsumexp_keeps_dims_on_request():
    z = [[1, 2, 3], [4, 5, 6]]
    assert nn.softmax(z).dtype == np.float64
    assert nn.logsumexp(z, axis=1).shape == (2,)
    assert nn.logsumexp(z, axis=0, keepdims=True).shape == (1, 3)
    np.testing.assert_allclose(nn.logsumexp(z, axis=1), np.log(np.exp(z).sum(axis=1)))


def test_naive_softmax_fails_with_nan_but_quietly():
    with no_floating_point_trouble():
        overflow = nn.naive_softmax([1000.0, 1000.0])
        underflow = nn.naive_softmax([-1000.0, -1000.0])
    assert np.all(np.isnan(overflow))  # inf / inf
    assert np.all(np.isnan(underflow))  # 0 / 0
    assert np.all(np.isfinite(nn.softmax([1000.0, 1000.0])))


def test_naive_softmax_agrees_with_softmax_on_moderate_inputs():
    z = np.random.default_rng(0).normal(scale=5, size=(4, 6))
    np.testing.assert_allclose(nn.naive_softmax(z), nn.softmax(z), rtol=1e-13)
    np.testing.assert_allclose(nn.naive_softmax(z, axis=0), nn.softmax(z, axis=0), rtol=1e-13)


# --- cross-entropy ---------------------------------------------------------------------


def torch_cross_entropy(logits, labels):
    z = t64(logits).requires_grad_()
    loss = F.cross_entropy(z, torch.tensor(labels))
    loss.backward()
    return loss.item(), z.grad.numpy()


@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(1, 6),
    num_classes=st.integers(1, 5),
    scale=st.sampled_from([1.0, 30.0, 1000.0]),
    seed=st.integers(0, 2**32 - 1),
)
def test_cross_entropy_and_its_gradient_match_torch(m, num_classes, scale, seed):
    rng = np.random.default_rng(seed)
    logits = scale * rng.normal(size=(m, num_classes))
    labels = rng.integers(0, num_classes, size=m)
    with no_floating_point_trouble():
        loss, dlogits = nn.cross_entropy(logits, labels), nn.cross_entropy_grad(logits, labels)
    expected_loss, expected_grad = torch_cross_entropy(logits, labels)
    assert isinstance(loss, float)
    assert loss == pytest.approx(expected_loss, rel=RTOL, abs=1e-12)
    np.testing.assert_allclose(dlogits, expected_grad, rtol=RTOL, atol=1e-15)


def test_cross_entropy_is_finite_for_extreme_logits_and_keeps_float32():
    logits = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]])
    labels = np.array([1, 1])
    assert nn.cross_entropy(logits, labels) == pytest.approx(1000.0)
    assert nn.cross_entropy_grad(logits.astype(np.float32), labels).dtype == np.float32


def test_cross_entropy_gradient_passes_gradient_check():
    rng = np.random.default_rng(1)
    logits, labels = rng.normal(size=(5, 4)), rng.integers(0, 4, size=5)
    error = nn.gradient_check(
        lambda z: nn.cross_entropy(z, labels), lambda z: nn.cross_entropy_grad(z, labels), logits
    )
    assert error < 1e-8


# --- batch_norm, the function ----------------------------------------------------------


@pytest.mark.parametrize("delta", [0.0, 1e-8, 0.5])
def test_batch_norm_is_the_lecture_formula_and_torch_functional(delta):
    H = np.random.default_rng(2).normal(loc=3, scale=2, size=(7, 4))
    mu = H.mean(axis=0)
    sigma = np.sqrt(delta + ((H - mu) ** 2).mean(axis=0))
    out = nn.batch_norm(H, delta=delta)
    np.testing.assert_allclose(out, (H - mu) / sigma, rtol=1e-14)
    if delta == 0:
        return  # torch refuses eps = 0 in training mode
    expected = F.batch_norm(t64(H), None, None, weight=None, training=True, eps=delta)
    np.testing.assert_allclose(out, expected.numpy(), rtol=RTOL, atol=1e-14)


def test_batch_norm_gives_zero_mean_and_unit_variance_columns_and_takes_a_vector():
    H = np.random.default_rng(3).normal(loc=-5, scale=10, size=(50, 3))
    out = nn.batch_norm(H, delta=0)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-14)
    np.testing.assert_allclose(out.var(axis=0), 1, rtol=1e-13)
    np.testing.assert_allclose(nn.batch_norm(H[:, 0]), nn.batch_norm(H)[:, 0], rtol=1e-15)


# --- BatchNorm, the layer --------------------------------------------------------------


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("momentum", [0.1, 0.0, 1.0])
def test_batch_norm_layer_matches_torch_batchnorm1d_over_several_steps(affine, momentum):
    rng = np.random.default_rng(4)
    n, delta = 3, 1e-5
    ours = nn.BatchNorm(n, delta=delta, momentum=momentum, affine=affine)
    theirs = torch.nn.BatchNorm1d(n, eps=delta, momentum=momentum, affine=affine).double()
    if affine:  # start from parameters that are not the trivial ones
        ours.gamma, ours.beta = rng.normal(size=n), rng.normal(size=n)
        with torch.no_grad():
            theirs.weight.copy_(t64(ours.gamma))
            theirs.bias.copy_(t64(ours.beta))
    for m in [5, 2, 8]:
        H = rng.normal(loc=2, scale=3, size=(m, n))
        dH_out = rng.normal(size=(m, n))
        H_t = t64(H).requires_grad_()
        out_t = theirs.train()(H_t)
        out_t.backward(t64(dH_out))
        np.testing.assert_allclose(ours.forward(H), out_t.detach().numpy(), rtol=RTOL, atol=1e-13)
        np.testing.assert_allclose(ours.backward(dH_out), H_t.grad.numpy(), rtol=1e-9, atol=1e-12)
        if affine:
            np.testing.assert_allclose(ours.grads["gamma"], theirs.weight.grad.numpy(), rtol=RTOL)
            np.testing.assert_allclose(ours.grads["beta"], theirs.bias.grad.numpy(), rtol=RTOL)
            theirs.zero_grad()
        else:
            assert ours.grads == {}
        np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=RTOL)
        np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=RTOL)
    H = rng.normal(size=(4, n))
    H_t = t64(H).requires_grad_()
    out_t = theirs.eval()(H_t)
    out_t.backward(t64(np.ones((4, n))))
    np.testing.assert_allclose(ours.forward(H, training=False), out_t.detach().numpy(), rtol=RTOL)
    np.testing.assert_allclose(ours.backward(np.ones((4, n))), H_t.grad.numpy(), rtol=RTOL)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_backward_passes_gradient_check(training):
    rng = np.random.default_rng(5)
    H, R = rng.normal(size=(6, 3)), rng.normal(size=(6, 3))
    layer = nn.BatchNorm(3, delta=1e-3)
    layer.gamma, layer.beta = rng.normal(size=3), rng.normal(size=3)
    layer.running_mean, layer.running_var = rng.normal(size=3), rng.uniform(0.5, 2, size=3)

    def objective(H):  # a scalar that depends on every output: sum(R * out)
        return np.sum(R * layer.forward(H, training, update_running=False))

    def gradient(H):
        layer.forward(H, training, update_running=False)
        return layer.backward(R)

    assert nn.gradient_check(objective, gradient, H) < 1e-8
    layer.forward(H, training)
    layer.backward(R)
    grads = dict(layer.grads)
    gamma, beta = layer.gamma.copy(), layer.beta.copy()

    def with_gamma(g):
        layer.gamma = g
        return np.sum(R * layer.forward(H, training, update_running=False))

    def with_beta(b):
        layer.beta = b
        return np.sum(R * layer.forward(H, training, update_running=False))

    assert nn.gradient_check(with_gamma, lambda g: grads["gamma"], gamma) < 1e-8
    layer.gamma = gamma
    assert nn.gradient_check(with_beta, lambda b: grads["beta"], beta) < 1e-8


def test_batch_norm_refuses_a_batch_of_one_in_training_mode_only():
    layer = nn.BatchNorm(2)
    with pytest.raises(ValueError, match=r"m >= 2.*training=False"):
        layer.forward(np.ones((1, 2)))
    with pytest.raises(ValueError, match="m >= 2"):
        nn.batch_norm(np.ones((1, 2)))
    np.testing.assert_allclose(
        layer.forward(np.ones((1, 2)), training=False), 1 / np.sqrt(1 + 1e-8)
    )
    np.testing.assert_array_equal(layer.running_mean, 0)  # the refused batch changed nothing


def test_batch_norm_layer_leaves_its_input_alone_and_keeps_float32():
    H = np.random.default_rng(6).normal(size=(4, 2)).astype(np.float32)
    before = H.copy()
    layer = nn.BatchNorm(2)
    out = layer.forward(H)
    assert out.dtype == np.float32
    assert layer.backward(np.ones_like(H)).dtype == np.float32
    np.testing.assert_array_equal(H, before)


def test_forward_without_update_running_leaves_the_running_averages():
    layer = nn.BatchNorm(2)
    layer.forward(np.arange(8.0).reshape(4, 2), update_running=False)
    np.testing.assert_array_equal(layer.running_mean, 0)
    np.testing.assert_array_equal(layer.running_var, 1)


# --- MLP -------------------------------------------------------------------------------

TORCH_ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "linear": lambda u: u}


def data(mlp: nn.MLP, m: int, seed: int):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, mlp.sizes[0]))
    if mlp.loss_name == "cross_entropy":
        return X, rng.integers(0, mlp.sizes[-1], size=m)
    return X, rng.normal(size=(m, mlp.sizes[-1]))


class TorchTwin:
    """The same network built with torch ops on the same flat theta; autograd gives dL/dtheta.

    The layout comes from ``mlp.unflatten`` applied to the indices 0..P-1; everything
    else (linear maps, batch norm and its running averages, activations, losses) is torch's.
    """

    def __init__(self, mlp: nn.MLP):
        self.mlp = mlp
        self.index = [
            {name: torch.tensor(ix.astype(np.int64)) for name, ix in layer.items()}
            for layer in mlp.unflatten(np.arange(mlp.num_params))
        ]
        self.running = [
            (torch.zeros(n, dtype=torch.float64), torch.ones(n, dtype=torch.float64))
            for n in mlp.sizes[1:]
        ]

    def loss_and_grad(self, theta, X, y, training=True):
        mlp = self.mlp
        theta_t = t64(theta).requires_grad_()
        H = t64(X)
        for l, ix in enumerate(self.index):
            U = H @ theta_t[ix["W"]]
            if "b" in ix:
                U = U + theta_t[ix["b"]]
            if "gamma" in ix:
                bn = mlp.bn_layers[l]
                mean, var = self.running[l]
                U = F.batch_norm(
                    U, mean, var, theta_t[ix["gamma"]], theta_t[ix["beta"]],
                    training=training, momentum=bn.momentum, eps=bn.delta,
                )  # fmt: skip
            H = TORCH_ACTIVATIONS[mlp.activation](U) if l < mlp.num_layers - 1 else U
        if mlp.loss_name == "cross_entropy":
            loss = F.cross_entropy(H, torch.tensor(y))
        else:
            loss = F.mse_loss(H, t64(y))
        loss.backward()
        return loss.item(), theta_t.grad.numpy()


MLP_CASES = [
    dict(activation=activation, batch_norm=batch_norm, loss=loss)
    for activation in ["relu", "tanh", "linear"]
    for batch_norm in [False, True]
    for loss in ["cross_entropy", "mse"]
]


@pytest.mark.parametrize("case", MLP_CASES, ids=lambda c: "-".join(map(str, c.values())))
def test_mlp_loss_and_grad_match_torch_autograd(case):
    mlp = nn.MLP([4, 6, 5, 3], **case)
    twin = TorchTwin(mlp)
    rng = np.random.default_rng(7)
    for step in range(3):  # a few steps, so the running averages differ from their start
        theta = mlp.init_params(rng) + 0.1 * rng.normal(size=mlp.num_params)
        X, y = data(mlp, m=8, seed=step)
        loss, grad = mlp.loss_and_grad(theta, X, y)
        expected_loss, expected_grad = twin.loss_and_grad(theta, X, y)
        assert loss == pytest.approx(expected_loss, rel=RTOL)
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-9, atol=1e-12)
        assert mlp.loss(theta, X, y) == pytest.approx(loss, rel=1e-15)
    for l, bn in enumerate(mlp.bn_layers):
        if bn is not None:
            np.testing.assert_allclose(bn.running_mean, twin.running[l][0].numpy(), rtol=RTOL)
            np.testing.assert_allclose(bn.running_var, twin.running[l][1].numpy(), rtol=RTOL)
    loss, grad = mlp.loss_and_grad(theta, X, y, training=False)
    expected_loss, expected_grad = twin.loss_and_grad(theta, X, y, training=False)
    assert loss == pytest.approx(expected_loss, rel=RTOL)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-9, atol=1e-12)


def test_mlp_with_batch_norm_is_torch_sequential_of_linear_batchnorm1d_relu():
    mlp = nn.MLP([3, 5, 2], batch_norm=True, bn_delta=1e-5)
    theta = mlp.init_params(8)
    first, last = mlp.unflatten(theta)
    net = torch.nn.Sequential(
        torch.nn.Linear(3, 5, bias=False),
        torch.nn.BatchNorm1d(5, eps=1e-5),
        torch.nn.ReLU(),
        torch.nn.Linear(5, 2),
    ).double()
    with torch.no_grad():
        net[0].weight.copy_(t64(first["W"].T))  # torch stores W transposed: (out, in)
        net[1].weight.copy_(t64(first["gamma"]))
        net[1].bias.copy_(t64(first["beta"]))
        net[3].weight.copy_(t64(last["W"].T))
        net[3].bias.copy_(t64(last["b"]))
    for seed in range(3):
        X, y = data(mlp, m=6, seed=seed)
        loss, _ = mlp.loss_and_grad(theta, X, y)
        assert loss == pytest.approx(F.cross_entropy(net.train()(t64(X)), torch.tensor(y)).item())
    X, _ = data(mlp, m=4, seed=9)
    expected = net.eval()(t64(X)).detach().numpy()
    np.testing.assert_allclose(mlp.forward(theta, X, training=False), expected, rtol=RTOL)


@pytest.mark.parametrize("activation", ["tanh", "linear", "relu"])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_mlp_gradient_passes_gradient_check(activation, batch_norm):
    mlp = nn.MLP([3, 4, 4, 3], activation=activation, batch_norm=batch_norm)
    rng = np.random.default_rng(10)
    # nonzero biases: with zero biases a relu unit that receives only zeros sits exactly on
    # its kink, where finite differences and relu'(0) = 0 rightly disagree
    theta = mlp.init_params(rng) + 0.1 * rng.normal(size=mlp.num_params)
    X, y = data(mlp, m=6, seed=11)
    error = nn.gradient_check(
        lambda th: mlp.loss(th, X, y), lambda th: mlp.grad(th, X, y), theta, h=1e-6
    )
    assert error < 1e-7


def test_deep_linear_chain_without_biases_is_the_product_of_the_weights():
    depth = 6
    mlp = nn.MLP([1] * (depth + 1), activation="linear", bias=False, loss="mse")
    assert mlp.num_params == depth
    w = np.array([1.5, -0.5, 2.0, 0.8, 1.1, -1.3])
    x = np.array([[0.5], [-2.0], [1.0]])
    y = np.array([1.0, 0.0, -1.0])
    np.testing.assert_allclose(mlp.forward(w, x), x * np.prod(w), rtol=1e-15)
    # dL/dw_i = mean(2 (y_hat - y) x) * prod_{j != i} w_j
    residual = x[:, 0] * np.prod(w) - y
    expected = np.mean(2 * residual * x[:, 0]) * np.prod(w) / w
    np.testing.assert_allclose(mlp.grad(w, x, y), expected, rtol=1e-13)


def test_only_the_training_step_moves_the_running_averages():
    mlp = nn.MLP([2, 3, 2], batch_norm=True)
    theta = mlp.init_params(12)
    X, y = data(mlp, m=5, seed=13)
    bn = mlp.bn_layers[0]
    assert mlp.bn_layers[1] is None  # no batch norm on the output layer
    mlp.forward(theta, X)
    mlp.loss(theta, X, y)
    mlp.layer_outputs(theta, X)
    mlp.loss_and_grad(theta, X, y, update_running=False)
    np.testing.assert_array_equal(bn.running_mean, 0)
    mlp.grad(theta, X, y)
    assert np.all(bn.running_mean != 0)
    mlp.reset_running_stats()
    np.testing.assert_array_equal(bn.running_mean, 0)


def test_unflatten_gives_named_views_and_init_params_is_seeded_and_scaled():
    mlp = nn.MLP([400, 300, 10], activation="relu")
    theta = mlp.init_params(14)
    np.testing.assert_array_equal(theta, mlp.init_params(np.random.default_rng(14)))
    first, last = mlp.unflatten(theta)
    assert first["W"].shape == (400, 300) and last["b"].shape == (10,)
    assert np.std(first["W"]) == pytest.approx(np.sqrt(2 / 400), rel=0.02)  # He
    assert np.std(last["W"]) == pytest.approx(np.sqrt(2 / 310), rel=0.05)  # Glorot
    np.testing.assert_array_equal(first["b"], 0)
    first["b"][0] = 7.0  # a view: writing through it writes theta
    assert theta[400 * 300] == 7.0
    bn_mlp = nn.MLP([2, 3, 2], activation="tanh", batch_norm=True)
    hidden = bn_mlp.unflatten(bn_mlp.init_params(0))[0]
    assert set(hidden) == {"W", "gamma", "beta"}
    np.testing.assert_array_equal(hidden["gamma"], 1)
    assert bn_mlp.num_params == 2 * 3 + 3 + 3 + 3 * 2 + 2


def test_diagnostics_agree_with_the_forward_pass():
    mlp = nn.MLP([3, 5, 5, 2], activation="tanh")
    theta = mlp.init_params(15)
    X, y = data(mlp, m=7, seed=16)
    outputs = mlp.layer_outputs(theta, X)
    assert [h.shape for h in outputs] == [(7, 5), (7, 5), (7, 2)]
    np.testing.assert_array_equal(outputs[-1], mlp.forward(theta, X))
    assert np.all(np.abs(outputs[0]) < 1)  # tanh's range
    assert mlp.predict(theta, X).shape == (7,)
    assert 0 <= mlp.accuracy(theta, X, y) <= 1


def test_mlp_keeps_float32_and_never_writes_into_its_inputs():
    mlp = nn.MLP([3, 4, 2], batch_norm=True)
    theta = mlp.init_params(17, dtype=np.float32)
    X, y = data(mlp, m=5, seed=18)
    before = theta.copy(), X.copy(), y.copy()
    loss, grad = mlp.loss_and_grad(theta, X, y)
    assert isinstance(loss, float) and grad.dtype == np.float32
    assert mlp.forward(theta, X).dtype == np.float32
    for after, original in zip((theta, X, y), before, strict=True):
        np.testing.assert_array_equal(after, original)


def test_an_optimlib_optimizer_trains_the_mlp():
    import optimlib as ol

    rng = np.random.default_rng(19)
    X = rng.normal(size=(64, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)  # XOR-like quadrants: not linearly separable
    mlp = nn.MLP([2, 16, 2], activation="tanh")
    theta = mlp.init_params(20)
    start = mlp.loss(theta, X, y)
    opt = ol.Adam(lr=0.05)
    for _ in range(300):
        theta = opt.step(theta, lambda th: mlp.grad(th, X, y))
    assert mlp.loss(theta, X, y) < 0.2 * start
    assert mlp.accuracy(theta, X, y) >= 0.95


# --- gradient_check --------------------------------------------------------------------


def rosenbrock(x):
    return np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def rosenbrock_grad(x):
    g = np.zeros_like(x)
    g[:-1] = -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return g


def test_gradient_check_accepts_a_right_gradient_and_catches_a_wrong_one():
    x = np.random.default_rng(21).normal(size=6)
    before = x.copy()
    assert nn.gradient_check(rosenbrock, rosenbrock_grad, x) < 1e-8
    assert nn.gradient_check(rosenbrock, lambda x: 1.01 * rosenbrock_grad(x), x) > 1e-3

    def one_wrong_component(x):
        g = rosenbrock_grad(x)
        g[2] += 0.1 * np.max(np.abs(g))
        return g

    assert nn.gradient_check(rosenbrock, one_wrong_component, x) > 1e-3
    np.testing.assert_array_equal(x, before)


def test_gradient_check_along_random_directions():
    x = np.random.default_rng(22).normal(size=(50, 40))  # 2000 coordinates, 10 directions

    def f(x):
        return np.sum(np.sin(x) * x)

    def grad(x):
        return np.cos(x) * x + np.sin(x)

    assert nn.gradient_check(f, grad, x, rng=0, num_directions=10) < 1e-8
    assert nn.gradient_check(f, lambda x: 1.01 * grad(x), x, rng=0, num_directions=10) > 1e-3


def test_gradient_check_of_a_flat_function_is_zero():
    assert nn.gradient_check(lambda x: 3.0, np.zeros_like, np.ones(4)) == 0.0


# --- bad input -------------------------------------------------------------------------

BAD_CALLS = {
    "z": lambda: nn.softmax(np.array(["a", "b"])),
    "logits": lambda: nn.cross_entropy(np.zeros(3), [0]),
    "labels": lambda: nn.cross_entropy(np.zeros((2, 3)), [0, 3]),
    "labels must be integer": lambda: nn.cross_entropy(np.zeros((2, 3)), [0.0, 1.0]),
    "labels must have shape": lambda: nn.cross_entropy_grad(np.zeros((2, 3)), [0]),
    "delta": lambda: nn.batch_norm(np.ones((3, 2)), delta=-1),
    "H must have shape": lambda: nn.batch_norm(np.ones((3, 2, 2))),
    "num_features": lambda: nn.BatchNorm(0),
    "momentum": lambda: nn.BatchNorm(3, momentum=1.5),
    "affine": lambda: nn.BatchNorm(3, affine="yes"),
    r"H must have shape \(m, num_features\)": lambda: nn.BatchNorm(3).forward(np.ones((4, 2))),
    "dH_out": lambda: _after_forward(nn.BatchNorm(2)).backward(np.ones((3, 2))),
    "training": lambda: nn.BatchNorm(2).forward(np.ones((4, 2)), training="no"),
    "sizes": lambda: nn.MLP([3]),
    r"sizes\[1\]": lambda: nn.MLP([3, 0, 2]),
    "activation": lambda: nn.MLP([3, 2], activation="sigmoid"),
    "loss": lambda: nn.MLP([3, 2], loss="hinge"),
    r"sizes\[-1\]": lambda: nn.MLP([3, 1]),
    "batch_norm": lambda: nn.MLP([3, 2], batch_norm=1),
    "theta": lambda: nn.MLP([3, 2]).loss(np.zeros(5), np.zeros((2, 3)), [0, 1]),
    "X": lambda: nn.MLP([3, 2]).forward(np.zeros(8), np.zeros((2, 4))),
    "y must have shape": lambda: nn.MLP([3, 2]).loss(np.zeros(8), np.zeros((2, 3)), [0]),
    r"y must have shape \(2, 2\), the output's": lambda: nn.MLP([3, 2], loss="mse").loss(
        np.zeros(8), np.zeros((2, 3)), np.zeros((2, 3))
    ),
    "bn_momentum": lambda: nn.MLP([3, 2], bn_momentum=-1),
    "bn_delta": lambda: nn.MLP([3, 2], bn_delta=-1),
    "accuracy": lambda: nn.MLP([3, 2], loss="mse").accuracy(np.zeros(8), np.zeros((2, 3)), [0, 1]),
    "h": lambda: nn.gradient_check(np.sum, np.ones_like, np.ones(3), h=0),
    "num_directions": lambda: nn.gradient_check(np.sum, np.ones_like, np.ones(3), num_directions=0),
    "grad": lambda: nn.gradient_check(np.sum, lambda x: np.ones(2), np.ones(3)),
}


def _after_forward(layer):
    layer.forward(np.ones((4, 2)))
    return layer


@pytest.mark.parametrize("match", BAD_CALLS)
def test_bad_input_raises_value_error_naming_the_parameter(match):
    with pytest.raises(ValueError, match=match):
        BAD_CALLS[match]()


def test_a_rejected_hyperparameter_keeps_the_old_value():
    layer = nn.BatchNorm(2, momentum=0.2)
    with pytest.raises(ValueError, match=r"momentum must be a number in \[0, 1\]"):
        layer.momentum = -0.1
    assert layer.momentum == 0.2
    with pytest.raises(ValueError, match="delta"):
        layer.delta = float("nan")


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match="forward first"):
        nn.BatchNorm(2).backward(np.ones((3, 2)))


def test_bad_targets_leave_the_running_averages_alone():
    mlp = nn.MLP([2, 3, 2], batch_norm=True)
    theta = mlp.init_params(23)
    with pytest.raises(ValueError, match="y must be class indices"):
        mlp.loss_and_grad(theta, np.ones((4, 2)), [0, 1, 2, 0])
    np.testing.assert_array_equal(mlp.bn_layers[0].running_mean, 0)
    np.testing.assert_array_equal(mlp.bn_layers[0].running_var, 1)


def test_mse_takes_a_vector_of_targets_for_a_single_output():
    mlp = nn.MLP([2, 3, 1], activation="tanh", loss="mse")
    theta = mlp.init_params(24)
    X, y = data(mlp, m=5, seed=25)
    assert mlp.loss(theta, X, y[:, 0]) == mlp.loss(theta, X, y)
    assert mlp.predict(theta, X).shape == (5, 1)


# --- float32 and float64, as the optimizers ------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float16, np.longdouble])
def test_batch_norm_refuses_other_float_dtypes(dtype):
    """In float16, delta = 1e-8 is 0: a constant column gave 0/0 (NaN) with a warning."""
    if np.dtype(dtype) == np.float64:
        pytest.skip("longdouble is float64 here")
    H = np.ones((4, 2), dtype=dtype)
    message = rf"^H has dtype {np.dtype(dtype)}.*float32 and float64"
    with pytest.raises(ValueError, match=message):
        nn.batch_norm(H)
    layer = nn.BatchNorm(2)
    with pytest.raises(ValueError, match=r"dtype .*float32 and float64"):
        layer.forward(H)
    assert np.array_equal(layer.running_mean, np.zeros(2))
    mlp = nn.MLP([2, 3, 1], batch_norm=True, loss="mse")
    theta = mlp.init_params(np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"^dtype must be float32 or float64"):
        mlp.init_params(0, dtype=dtype)
    with pytest.raises(ValueError, match=r"^theta has dtype"):
        mlp.loss_and_grad(theta.astype(dtype), np.ones((4, 2)), np.ones(4))
