"""nnlib.recipe: each check passes on a healthy network, fails on a planted bug, and rejects bad input."""
import math

import numpy as np
import pytest

import nnlib
from nnlib import MLP, datasets, recipe


@pytest.fixture(scope="module")
def digits():
    X, labels = datasets.digits()
    return X[:400], datasets.one_hot(labels[:400], 10)


def softmax_net(hidden="tanh", sizes=(64, 32, 10), seed=0):
    return MLP(list(sizes), hidden=hidden, output="softmax", seed=seed)


class WrongSign(MLP):
    """A planted bug: the first layer's weight gradient is negated."""

    def loss_and_grads(self, X, y, loss="mse", **options):
        value, grads = super().loss_and_grads(X, y, loss=loss, **options)
        return value, [(-grads[0][0], grads[0][1])] + grads[1:]


# ----------------------------------------------------------------- standardiser
def test_standardiser_uses_training_statistics_and_keeps_constant_columns():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(3000, 500, 200), rng.normal(0, 0.01, 200), np.full(200, 7.0)])
    s = recipe.standardiser(X)
    Z = s(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Z[:, :2].std(axis=0), 1, rtol=1e-12)
    assert np.all(Z[:, 2] == 0) and s.scale[2] == 1.0
    X_new = X[:5] + 1.0                               # other data: the training mean and scale, unchanged
    np.testing.assert_allclose(s(X_new), (X_new - X.mean(axis=0)) / s.scale)


@pytest.mark.parametrize("value", [0.1, 0.3, 1e-3, 123.456, -2.7, 0.0])
def test_standardiser_constant_column_whatever_its_value(value):
    # 0.1 and most other decimals have a floating-point std of about 1e-17, not 0: that column
    # must still count as constant, become exactly 0, and move test data by their difference only
    rng = np.random.default_rng(1)
    X = np.column_stack([rng.normal(size=50), np.full(50, value)])
    s = recipe.standardiser(X)
    assert s.scale[1] == 1.0 and s.mean[1] == value
    assert np.all(s(X)[:, 1] == 0.0)
    off = np.array([[0.0, value + 1e-3]])
    assert s(off)[0, 1] == pytest.approx(1e-3, rel=1e-6)
    np.testing.assert_allclose(s(X)[:, 0].std(), 1.0, rtol=1e-12)   # the other column as before


def test_standardiser_keeps_a_small_but_real_spread():
    X = np.column_stack([np.linspace(0.0, 1e-9, 40), np.linspace(5.0, 5.0 + 1e-6, 40)])
    s = recipe.standardiser(X)
    np.testing.assert_allclose(s(X).std(axis=0), 1.0, rtol=1e-6)


def test_standardiser_rejects_bad_input():
    with pytest.raises(ValueError, match="at least 2 rows"):
        recipe.standardiser(np.ones((1, 3)))
    with pytest.raises(ValueError, match="NaN or inf"):
        recipe.standardiser(np.array([[1.0, np.nan], [2.0, 3.0]]))
    s = recipe.standardiser(np.arange(6.0).reshape(3, 2))
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        s(np.ones((3, 3)))


# ----------------------------------------------------------------- initial loss
def test_expected_initial_loss_is_ln_c():
    assert recipe.expected_initial_loss(10) == pytest.approx(math.log(10), rel=1e-15)
    assert recipe.expected_initial_loss(2) == pytest.approx(math.log(2), rel=1e-15)
    with pytest.raises(ValueError, match=">= 2"):
        recipe.expected_initial_loss(1)


@pytest.mark.parametrize("C", [2, 3, 10])
@pytest.mark.parametrize("s", [0.1, 0.3])
def test_random_logits_raise_the_softmax_loss_by_s2_one_minus_one_over_c_over_2(C, s):
    # check_initial_loss's docstring: E[L] ~ ln C + s^2 (1 - 1/C) / 2 for independent logits of
    # variance s^2 (not s^2 / 2, which is the many-class limit). The linear term z_bar - z_y has
    # mean 0 exactly; subtracting it (a control variate) leaves a low-variance Monte Carlo estimate.
    from scipy.special import logsumexp
    rng = np.random.default_rng(0)
    z = rng.normal(0.0, s, (200_000, C))
    y = rng.integers(0, C, z.shape[0])
    L = logsumexp(z, axis=1) - z[np.arange(z.shape[0]), y]
    excess = L - math.log(C) - (z.mean(axis=1) - z[np.arange(z.shape[0]), y])
    predicted = s ** 2 * (1 - 1 / C) / 2
    assert excess.mean() == pytest.approx(predicted, rel=0.03 + s ** 2 / 10)   # O(s^4) terms
    if C == 2:
        assert abs(excess.mean() - s ** 2 / 2) > 0.4 * s ** 2 / 2             # the old claim fails


@pytest.mark.parametrize("s", [0.1, 0.3])
def test_random_logit_raises_the_sigmoid_bce_loss_by_s2_over_8(s):
    from scipy.special import log_expit
    rng = np.random.default_rng(0)
    z = rng.normal(0.0, s, 200_000)
    y = rng.integers(0, 2, z.size)
    L = -np.where(y == 1, log_expit(z), log_expit(-z))
    excess = L - math.log(2) - np.where(y == 1, -z, z) / 2           # minus the mean-0 linear term
    assert excess.mean() == pytest.approx(s ** 2 / 8, rel=0.03 + s ** 2 / 10)


def test_initial_loss_docstring_states_the_corrected_excess():
    doc = recipe.check_initial_loss.__doc__
    assert "s^2 (1 - 1/C) / 2" in doc and "s^2 / 8" in doc and "add about s^2 / 2" not in doc


def test_initial_loss_check_passes_healthy_and_fails_scaled_output(digits):
    X, Y = digits
    net = softmax_net()
    good = recipe.check_initial_loss(net, X, Y)
    assert good.ok and abs(good.loss - math.log(10)) < 0.25 * math.log(10)
    assert good.loss == pytest.approx(net.loss(X, Y, loss="cross_entropy"), rel=1e-12)
    net.layers[-1].W[...] *= 10
    bad = recipe.check_initial_loss(net, X, Y)
    assert not bad.ok and bad.loss > 2 * math.log(10)


def test_initial_loss_check_binary():
    X, y = datasets.moons(200, seed=0)
    net = MLP([2, 8, 1], hidden="tanh", output="sigmoid", seed=0)
    res = recipe.check_initial_loss(net, X, y, loss="bce")
    assert res.expected == pytest.approx(math.log(2)) and res.ok


def test_initial_loss_check_rejects_mse_and_bad_pairs(digits):
    X, Y = digits
    with pytest.raises(ValueError, match="classification loss"):
        recipe.check_initial_loss(MLP([64, 10], output="identity", seed=0), X, Y, loss="mse")
    with pytest.raises(ValueError, match="does not fit"):
        recipe.check_initial_loss(softmax_net(), X, Y, loss="bce")
    with pytest.raises(TypeError, match="nnlib.MLP"):
        recipe.check_initial_loss("not a net", X, Y)
    with pytest.raises(ValueError, match="columns"):
        recipe.check_initial_loss(softmax_net(), X[:, :10], Y)


# ----------------------------------------------------------------- overfit a batch
def test_overfit_batch_passes_healthy_and_catches_wrong_sign(digits):
    X, Y = digits[0][:16], digits[1][:16]
    net = softmax_net()
    before = net.params.copy()
    good = recipe.overfit_batch(net, X, Y, loss="cross_entropy", steps=300)
    assert good.ok and good.losses[-1] < 0.005 and good.losses.shape == (301,)
    np.testing.assert_array_equal(net.params, before)          # the network itself is untouched
    bad = recipe.overfit_batch(WrongSign([64, 32, 10], hidden="tanh", output="softmax", seed=0), X, Y,
                               loss="cross_entropy", steps=300)
    assert not bad.ok and bad.losses[-1] > 1.0


def test_overfit_batch_first_loss_is_the_network_loss(digits):
    X, Y = digits[0][:16], digits[1][:16]
    net = softmax_net()
    res = recipe.overfit_batch(net, X, Y, loss="cross_entropy", steps=3, optimizer="sgd", lr=0.1)
    assert res.losses[0] == pytest.approx(net.loss(X, Y, loss="cross_entropy"), rel=1e-12)
    with pytest.raises(ValueError, match="unknown optimizer"):
        recipe.overfit_batch(net, X, Y, loss="cross_entropy", optimizer="rmsprop")
    with pytest.raises(ValueError, match="tol"):
        recipe.overfit_batch(net, X, Y, loss="cross_entropy", tol=0.0)


# ----------------------------------------------------------------- lr range test
def test_lr_range_test_schedule_and_suggestion(digits):
    X, Y = digits
    net = softmax_net()
    before = net.params.copy()
    rt = recipe.lr_range_test(net, X, Y, loss="cross_entropy", optimizer="adam", lr_min=1e-5,
                              lr_max=10.0, steps=100, seed=0)
    full = 1e-5 * (10.0 / 1e-5) ** (np.arange(100) / 99)
    n = len(rt.lrs)
    assert 10 < n < 100                                          # stopped when the loss took off
    np.testing.assert_allclose(rt.lrs, full[:n], rtol=1e-12)
    assert rt.smoothed[-1] > 4 * rt.smoothed.min()               # ... because of the stop rule
    assert rt.losses.shape == rt.smoothed.shape == (n,)
    assert rt.suggested == pytest.approx(rt.best_lr / 10)
    assert rt.best_lr == rt.lrs[np.argmin(rt.smoothed)]
    assert 1e-3 < rt.suggested < 0.3
    np.testing.assert_array_equal(net.params, before)
    # the smoothing is the bias-corrected moving average of the recorded losses
    m, beta = 0.0, 0.9
    for k, value in enumerate(rt.losses[:5]):
        m = beta * m + (1 - beta) * value
        assert rt.smoothed[k] == pytest.approx(m / (1 - beta ** (k + 1)), rel=1e-12)


def test_lr_range_test_repeats_with_a_seed_and_rejects_bad_bounds(digits):
    X, Y = digits
    a = recipe.lr_range_test(softmax_net(), X, Y, loss="cross_entropy", steps=30, seed=3)
    b = recipe.lr_range_test(softmax_net(), X, Y, loss="cross_entropy", steps=30, seed=3)
    np.testing.assert_array_equal(a.losses, b.losses)
    with pytest.raises(ValueError, match="lr_max must be larger"):
        recipe.lr_range_test(softmax_net(), X, Y, loss="cross_entropy", lr_min=1.0, lr_max=0.1)
    with pytest.raises(ValueError, match="beta"):
        recipe.lr_range_test(softmax_net(), X, Y, loss="cross_entropy", beta=1.0)


# ----------------------------------------------------------------- update ratios, layers, dead ReLUs
def test_update_ratios_match_one_sgd_step(digits):
    X, Y = digits
    net = softmax_net()
    r = recipe.update_ratios(net, X, Y, loss="cross_entropy", lr=0.1, optimizer="sgd", steps=1,
                             batch_size=len(X))
    _, grads = net.loss_and_grads(X, Y, loss="cross_entropy")
    expected = [0.1 * np.linalg.norm(dW) / np.linalg.norm(layer.W)
                for (dW, _), layer in zip(grads, net.layers)]
    np.testing.assert_allclose(r[0], expected, rtol=1e-10)


def test_update_ratios_grow_with_the_learning_rate(digits):
    X, Y = digits
    net = softmax_net()
    small = recipe.update_ratios(net, X, Y, loss="cross_entropy", lr=0.001, steps=20)
    large = recipe.update_ratios(net, X, Y, loss="cross_entropy", lr=0.1, steps=20)
    assert small.shape == (20, 2)
    assert np.all(np.median(large, axis=0) > 20 * np.median(small, axis=0))


def test_layer_report_and_saturation(digits):
    X, Y = digits
    net = MLP([64, 32, 32, 10], hidden="tanh", output="softmax", seed=0)
    rep = recipe.layer_report(net, X, Y, loss="cross_entropy")
    zs, acts = net.forward_trace(X)
    _, grads = net.loss_and_grads(X, Y, loss="cross_entropy")
    assert len(rep) == 3 and rep[0].activation == "tanh" and rep[-1].activation == "softmax"
    for r, Z, A, (dW, _) in zip(rep, zs, acts[1:], grads):
        np.testing.assert_array_equal(r.Z, Z)
        np.testing.assert_array_equal(r.A, A)
        np.testing.assert_array_equal(r.dW, dW)
    assert rep[0].saturated < 0.05 and math.isnan(rep[0].dead) and math.isnan(rep[-1].saturated)
    for layer in net.layers[:-1]:
        layer.W[...] *= 5
    assert recipe.layer_report(net, X, Y, loss="cross_entropy")[1].saturated > 0.3


def test_dead_relu_share(digits):
    X, _ = digits
    net = MLP([64, 32, 16, 10], hidden="relu", output="softmax", seed=0)
    healthy = recipe.dead_relu_share(net, X)
    assert healthy.shape == (2,) and healthy.max() < 0.2
    net.layers[0].b[...] = -3.0
    np.testing.assert_array_equal(recipe.dead_relu_share(net, X), [1.0, 1.0])
    # by hand: a unit is dead when its pre-activation is <= 0 on every row
    net.layers[0].b[...] = 0.0
    net.layers[0].b[:8] = -100.0
    Z1 = X @ net.layers[0].W + net.layers[0].b
    assert recipe.dead_relu_share(net, X)[0] == pytest.approx(np.mean(Z1.max(axis=0) <= 0))
    assert recipe.dead_relu_share(net, X)[0] >= 8 / 32
    with pytest.raises(ValueError, match="hidden='relu'"):
        recipe.dead_relu_share(softmax_net(), X)


def test_generalisation_gap(digits):
    X, Y = digits
    net = softmax_net()
    net.fit(X[:100], Y[:100], loss="cross_entropy", optimizer="adam", lr=0.01, epochs=100,
            batch_size=20, seed=0)
    gap = recipe.generalisation_gap(net, X[:100], Y[:100], X[100:], Y[100:], loss="cross_entropy")
    expected = (net.loss(X[100:], Y[100:], loss="cross_entropy")
                - net.loss(X[:100], Y[:100], loss="cross_entropy"))
    assert gap == pytest.approx(expected, rel=1e-12) and gap > 0.1
    with pytest.raises(ValueError, match="y_test"):
        recipe.generalisation_gap(net, X[:100], Y[:100], X[100:], Y[:50], loss="cross_entropy")


def test_recipe_docstrings_cite_chapter_12():
    import inspect
    for name in recipe.__all__:
        doc = inspect.getdoc(getattr(recipe, name)) or ""
        assert "{ref}`sec-" in doc, name
    assert nnlib.recipe is recipe


# ----------------------------------------------------------------- chapter 12's code
def _chapter_12_code():
    import pathlib

    import nbformat
    path = pathlib.Path(__file__).resolve().parents[1] / "chapters" / "12_training_recipe.ipynb"
    nb = nbformat.read(path, as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


def test_chapter_12_explorations_are_live_over_ranges_on_figures_made_once():
    # review finding 7: each exploration takes any value of a viz.Range in Jupyter, and its draw
    # function updates a figure made when the cell ran instead of building one per slider move
    import ast
    cells = [src for src in _chapter_12_code() if "viz.explore(" in src]
    assert len(cells) == 2
    for src in cells:
        tree = ast.parse("\n".join(line for line in src.splitlines() if not line.startswith("%")))
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
                 and ast.unparse(n.func) == "viz.explore"]
        assert len(calls) == 1 and calls[0].keywords
        for kw in calls[0].keywords:
            if kw.arg != "caption":
                assert ast.unparse(kw.value).startswith("viz.Range("), kw.arg
        draw = next(n for n in tree.body if isinstance(n, ast.FunctionDef)
                    and n.name == ast.unparse(calls[0].args[0]))
        body = ast.unparse(draw)
        assert "yield" in body                                   # a value not trained is shown at once
        helpers = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("show_")]
        for fn in [draw, *helpers]:
            text = ast.unparse(fn)
            assert "subplots" not in text and "plt.figure" not in text and "contourf" not in text, fn.name


def test_chapter_12_uses_the_shared_helpers():
    # review finding 19: no private palette or boundary drawing, no unused course import
    code = "\n".join(_chapter_12_code())
    assert "LAYER_COLOURS" not in code and "contourf" not in code
    assert "viz.decision_map(" in code and "viz.NEUTRAL_COLOURS" in code
    assert "train_digits" not in code
