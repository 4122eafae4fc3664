"""nnlib.autodiff: every operation against finite differences, hypothesis properties of the
backward sweep, fan-out, the backward-twice rule, input validation, and agreement with nnlib's
dense backward pass on whole networks (to 1e-12). Pure Python: runs the same with
NUMBA_DISABLE_JIT=1."""
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import nnlib
from nnlib import numerical_gradient, relative_error
from nnlib.autodiff import Value, ValueMLP, cross_entropy, maximum, mse, softmax, topological_order

H = 1e-6


def central(f, x, h=H):
    """(f(x + h) - f(x - h)) / 2h for a function of plain floats."""
    return (f(x + h) - f(x - h)) / (2 * h)


def grads_of(f, *xs):
    """(value, [df/dx_i]) by the engine, for f taking and returning Values."""
    vs = [Value(x) for x in xs]
    out = f(*vs)
    out.backward()
    return out.data, [v.grad for v in vs]


def numeric_grads(f, *xs):
    """[df/dx_i] by central differences of the same function evaluated on Values."""
    out = []
    for i in range(len(xs)):
        def fi(t, i=i):
            args = list(xs)
            args[i] = t
            return f(*[Value(a) for a in args]).data
        out.append(central(fi, xs[i]))
    return out


UNARY = {
    "neg": (lambda a: -a, [-1.3, 0.7]),
    "exp": (lambda a: a.exp(), [-2.0, 0.3, 1.5]),
    "log": (lambda a: a.log(), [0.2, 1.0, 3.7]),
    "tanh": (lambda a: a.tanh(), [-1.2, 0.0, 0.8]),
    "sigmoid": (lambda a: a.sigmoid(), [-30.0, -1.2, 0.0, 2.5]),
    "relu": (lambda a: a.relu(), [-0.9, 1.4]),
    "abs": (lambda a: abs(a), [-0.9, 1.4]),
    "pow2": (lambda a: a ** 2, [-1.5, 0.6]),
    "pow3": (lambda a: a ** 3, [-1.5, 0.6]),
    "pow-1": (lambda a: a ** -1, [-1.5, 0.6]),
    "pow0.5": (lambda a: a ** 0.5, [0.3, 2.0]),
    "pow0": (lambda a: a ** 0, [-1.5, 0.6]),
    "constant-first": (lambda a: 2.0 - a, [0.4]),
    "constant-over": (lambda a: 3.0 / a, [0.4, -2.0]),
}
BINARY = {
    "+": (lambda a, b: a + b, [(0.3, -1.2)]),
    "-": (lambda a, b: a - b, [(0.3, -1.2)]),
    "*": (lambda a, b: a * b, [(0.3, -1.2), (2.0, 0.5)]),
    "/": (lambda a, b: a / b, [(0.3, -1.2), (2.0, 0.5)]),
    "max a wins": (lambda a, b: maximum(a, b), [(0.8, -0.3)]),
    "max b wins": (lambda a, b: maximum(a, b), [(-0.8, 0.3)]),
}


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_operation_matches_central_difference(name):
    f, points = UNARY[name]
    for x in points:
        _, (g,) = grads_of(f, x)
        (n,) = numeric_grads(f, x)
        assert g == pytest.approx(n, rel=1e-7, abs=1e-9), (name, x)


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_operation_matches_central_difference(name):
    f, points = BINARY[name]
    for xs in points:
        _, g = grads_of(f, *xs)
        n = numeric_grads(f, *xs)
        assert g == pytest.approx(n, rel=1e-7, abs=1e-9), (name, xs)


def test_forward_values_are_the_plain_float_results():
    a, b = 0.7, -1.9
    cases = [(Value(a) + b, a + b), (Value(a) - b, a - b), (Value(a) * b, a * b),
             (Value(a) / b, a / b), (Value(a) ** 3, a ** 3), (-Value(a), -a), (abs(Value(b)), -b),
             (Value(a).exp(), math.exp(a)), (Value(a).log(), math.log(a)), (Value(a).tanh(), math.tanh(a)),
             (Value(b).sigmoid(), 1 / (1 + math.exp(-b))), (Value(b).relu(), 0.0),
             (maximum(a, b), a)]
    for v, expected in cases:
        assert v.data == pytest.approx(expected, rel=1e-15)


def test_kinks_follow_the_documented_conventions():
    # relu'(0) = 0 (as nnlib), |a|'(0) = 0, and max gives the gradient to its first argument on a tie
    assert grads_of(lambda a: a.relu(), 0.0)[1] == [0.0]
    assert grads_of(lambda a: abs(a), 0.0)[1] == [0.0]
    assert grads_of(lambda a, b: maximum(a, b), 1.0, 1.0)[1] == [1.0, 0.0]


def test_sigmoid_is_stable_for_large_inputs():
    assert Value(-800.0).sigmoid().data == 0.0
    assert Value(800.0).sigmoid().data == 1.0


# ---------------------------------------------------------------- properties (hypothesis)
finite = st.floats(-3.0, 3.0, allow_nan=False)


@given(finite, finite)
def test_product_rule_exactly(x, y):
    _, (gx, gy) = grads_of(lambda a, b: a * b, x, y)
    assert gx == y and gy == x


@given(finite, finite, finite, finite)
@settings(max_examples=50, deadline=None)
def test_gradients_are_linear_in_the_output(x, y, alpha, beta):
    f = lambda a, b: (a * b).tanh()
    g = lambda a, b: a.exp() + b ** 2
    _, gf = grads_of(f, x, y)
    _, gg = grads_of(g, x, y)
    _, gl = grads_of(lambda a, b: alpha * f(a, b) + beta * g(a, b), x, y)
    for i in range(2):
        assert gl[i] == pytest.approx(alpha * gf[i] + beta * gg[i], rel=1e-12, abs=1e-12)


@given(finite)
@settings(max_examples=50, deadline=None)
def test_chain_rule_for_a_composition(x):
    # d/dx sigmoid(tanh(x)) = sigmoid'(tanh x) * tanh'(x)
    _, (g,) = grads_of(lambda a: a.tanh().sigmoid(), x)
    t = math.tanh(x)
    s = 1 / (1 + math.exp(-t))
    assert g == pytest.approx(s * (1 - s) * (1 - t * t), rel=1e-12, abs=1e-15)


@given(finite)
def test_seed_scales_every_gradient(x):
    v = Value(x)
    out = v.sigmoid() * v
    out.backward()
    g1 = v.grad
    out.backward(seed=-2.5)
    assert v.grad == pytest.approx(-2.5 * g1, rel=1e-14, abs=1e-14)   # g1 can cancel to ~0


OPS_1 = [lambda a: a.tanh(), lambda a: a.sigmoid(), lambda a: -a, lambda a: a * 0.5,
         lambda a: (a * 0.5).exp(), lambda a: a ** 2]
OPS_2 = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b,
         lambda a, b: a / (b * b + 1.0)]


@st.composite
def expressions(draw, depth=3):
    """A random expression over three inputs, as a function of Values."""
    if depth == 0 or draw(st.booleans()) and depth < 3:
        i = draw(st.integers(0, 2))
        return lambda xs: xs[i]
    if draw(st.booleans()):
        op = draw(st.sampled_from(OPS_1))
        sub = draw(expressions(depth=depth - 1))
        return lambda xs: op(sub(xs))
    op = draw(st.sampled_from(OPS_2))
    left, right = draw(expressions(depth=depth - 1)), draw(expressions(depth=depth - 1))
    return lambda xs: op(left(xs), right(xs))


@given(expressions(), st.lists(st.floats(-1.5, 1.5), min_size=3, max_size=3))
@settings(max_examples=150, deadline=None)
def test_random_expressions_match_central_differences(expr, point):
    f = lambda *vs: expr(list(vs)) + 0.0      # + 0.0: a constant expression is a Value too
    value, g = grads_of(f, *point)
    assume(abs(value) < 1e3)
    n = numeric_grads(f, *point)
    for gi, ni in zip(g, n):
        assert gi == pytest.approx(ni, rel=1e-5, abs=1e-6)


# ---------------------------------------------------------------- fan-out and the backward rule
def test_fan_out_gradients_add():
    w = Value(0.7)
    x1, x2 = 1.5, -0.4
    loss = w * x1 + w * x2                     # one weight used twice
    loss.backward()
    assert w.grad == pytest.approx(x1 + x2, rel=1e-15)
    x = Value(3.0)
    (x * x).backward()                         # both parents are the same Value
    assert x.grad == 6.0
    y = Value(0.5)
    z = y.tanh()
    (z * z + z).backward()                     # an intermediate used three times
    assert y.grad == pytest.approx((2 * z.data + 1) * (1 - z.data ** 2), rel=1e-14)


def test_backward_twice_gives_the_same_gradients_not_double():
    a, b = Value(1.2), Value(-0.7)
    out = (a * b).tanh() + a
    out.backward()
    first = (a.grad, b.grad)
    out.backward()
    assert (a.grad, b.grad) == first


def test_backward_resets_only_the_graph_it_differentiates():
    a, b = Value(2.0), Value(5.0)
    (a * 3.0).backward()
    (b * 4.0).backward()
    assert a.grad == 3.0 and b.grad == 4.0     # the second call did not touch a
    shared = Value(1.5)
    (shared * 2.0).backward()
    (shared * 7.0).backward()                  # same leaf, new graph: gradient of that output only
    assert shared.grad == 7.0


def test_values_from_separate_graphs_combine():
    a = Value(0.5).exp()                       # built in one expression
    b = Value(2.0) ** 2                        # and in another
    out = a * b
    out.backward()
    assert out.data == pytest.approx(math.exp(0.5) * 4.0, rel=1e-15)
    assert a.parents[0].grad == pytest.approx(math.exp(0.5) * 4.0, rel=1e-15)
    assert b.parents[0].grad == pytest.approx(math.exp(0.5) * 4.0, rel=1e-15)


def test_deep_graph_beyond_the_recursion_limit():
    x = Value(1.0)
    total = x
    for _ in range(5000):
        total = total + x                      # a chain 5000 nodes deep, x fanned out 5001 times
    total.backward()
    assert x.grad == 5001.0
    order = topological_order(total)
    assert len(order) == 5001                  # x once (however often it is used) and 5000 sums
    assert sum(v.op == "+" for v in order) == 5000


def test_topological_order_puts_parents_first():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    e = d.tanh() * c
    order = topological_order(e)
    pos = {id(v): i for i, v in enumerate(order)}
    assert order[-1] is e and len(order) == 6
    for v in order:
        for p in v.parents:
            assert pos[id(p)] < pos[id(v)]


def test_repr_is_readable():
    x = Value(2.0, "x")
    y = x * 3
    y.backward()
    assert repr(x) == "Value(x: data=2, grad=3)"
    assert repr(y) == "Value(data=6, grad=1, op='*')"


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize("bad, error", [("1.0", TypeError), (None, TypeError), (True, TypeError),
                                        ([1.0], TypeError), (float("nan"), ValueError),
                                        (float("inf"), ValueError), (complex(1, 1), TypeError)])
def test_bad_data_is_refused(bad, error):
    with pytest.raises(error, match="real number|finite"):
        Value(bad)


def test_bad_operands_are_refused():
    with pytest.raises(TypeError, match="real number"):
        Value(1.0) + "2"
    with pytest.raises(TypeError, match="constant number"):
        Value(2.0) ** Value(2.0)
    with pytest.raises(ValueError, match="negative base"):
        Value(-2.0) ** 0.5
    with pytest.raises(ZeroDivisionError):
        Value(0.0) ** -1
    with pytest.raises(ValueError, match="infinite"):
        Value(0.0) ** 0.5
    with pytest.raises(ZeroDivisionError):
        Value(1.0) / 0.0
    with pytest.raises(ValueError, match="positive"):
        Value(0.0).log()
    with pytest.raises(ValueError, match="overflows"):
        Value(1000.0).exp()
    with pytest.raises(ValueError, match="not a finite number"):
        Value(1e200) * 1e200


@pytest.mark.parametrize("seed, error", [(np.ones(2), TypeError), ([1.0], TypeError),
                                         (Value(1.0), TypeError), (float("nan"), ValueError),
                                         ("1", TypeError)])
def test_backward_seed_must_be_one_finite_number(seed, error):
    with pytest.raises(error, match="seed"):
        (Value(1.0) * 2).backward(seed)


def test_helper_inputs_are_checked():
    with pytest.raises(ValueError, match="empty"):
        softmax([])
    with pytest.raises(TypeError, match="sequence"):
        softmax(Value(1.0))
    with pytest.raises(ValueError, match="out of range"):
        cross_entropy([1.0, 2.0], 2)
    with pytest.raises(ValueError, match="one-hot"):
        cross_entropy([1.0, 2.0], [1.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="same number"):
        mse([1.0, 2.0], [1.0])
    with pytest.raises(TypeError, match="nnlib.MLP"):
        ValueMLP([2, 3, 1])
    net = nnlib.MLP([2, 3, 1], seed=0)
    with pytest.raises(ValueError, match="columns"):
        ValueMLP(net).loss(np.ones((4, 3)), np.ones((4, 1)))
    with pytest.raises(ValueError, match="does not fit"):
        ValueMLP(net).loss(np.ones((4, 2)), np.ones((4, 1)), loss="cross_entropy")
    with pytest.raises(ValueError, match="inputs"):
        ValueMLP(net).logits([1.0, 2.0, 3.0])


# ---------------------------------------------------------------- softmax and cross-entropy
def test_softmax_cross_entropy_gradient_is_p_minus_y():
    rng = np.random.default_rng(0)
    z = rng.normal(size=5) * 3
    zs = [Value(v) for v in z]
    loss = cross_entropy(zs, 3)
    loss.backward()
    p = nnlib.softmax(z)
    y = np.eye(5)[3]
    np.testing.assert_allclose([v.grad for v in zs], p - y, rtol=0, atol=1e-15)
    assert loss.data == pytest.approx(nnlib.losses.cross_entropy(z[None], y[None]), rel=1e-14)
    np.testing.assert_allclose([s.data for s in softmax(z.tolist())], p, rtol=1e-14)


def test_softmax_handles_large_logits():
    out = softmax([1000.0, 999.0])
    assert out[0].data == pytest.approx(1 / (1 + math.exp(-1.0)), rel=1e-14)


# ---------------------------------------------------------------- whole networks against nnlib
NETWORKS = [
    ("tanh", "sigmoid", "mse"),
    ("sigmoid", "sigmoid", "mse"),
    ("tanh", "identity", "mse"),
    ("relu", "sigmoid", "bce"),
    ("tanh", "softmax", "cross_entropy"),
    ("sigmoid", "softmax", "cross_entropy"),
]


@pytest.mark.parametrize("hidden, output, loss", NETWORKS)
def test_value_mlp_matches_nnlib_backward_pass(hidden, output, loss):
    rng = np.random.default_rng(3)
    net = nnlib.MLP([4, 6, 5, 3], hidden=hidden, output=output, seed=2)
    X = rng.normal(size=(7, 4))
    if output == "softmax":
        Y = nnlib.datasets.one_hot(rng.integers(0, 3, 7), 3)
    else:
        Y = rng.random((7, 3)) if loss == "mse" else (rng.random((7, 3)) > 0.5).astype(float)
    value, grads = net.loss_and_grads(X, Y, loss=loss)
    vnet = ValueMLP(net)
    L = vnet.loss(X, Y, loss=loss)
    L.backward()
    assert L.data == pytest.approx(value, rel=1e-12)
    for (dW, db), (vW, vb) in zip(grads, vnet.grads()):
        assert vW.shape == dW.shape and vb.shape == db.shape
        np.testing.assert_allclose(vW, dW, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(vb, db, rtol=1e-12, atol=1e-14)
    # and the forward pass: outputs equal net.forward
    np.testing.assert_allclose([[a.data for a in vnet.forward(x)] for x in X], net.forward(X),
                               rtol=1e-13, atol=1e-15)


def test_value_mlp_parameters_follow_net_params():
    net = nnlib.MLP([3, 4, 2], hidden="tanh", output="softmax", seed=0)
    vnet = ValueMLP(net)
    assert [v.data for v in vnet.parameters()] == net.params.tolist()


def test_value_mlp_agrees_with_finite_differences():
    # independent of nnlib's backward pass: the engine against central differences of nnlib's loss
    rng = np.random.default_rng(5)
    net = nnlib.MLP([3, 4, 2], hidden="tanh", output="softmax", seed=1)
    X = rng.normal(size=(5, 3))
    Y = nnlib.datasets.one_hot(rng.integers(0, 2, 5), 2)
    vnet = ValueMLP(net)
    vnet.loss(X, Y, loss="cross_entropy").backward()
    analytic = np.array([v.grad for v in vnet.parameters()])
    numeric = numerical_gradient(lambda p: net.loss(X, Y, loss="cross_entropy"), net.params)
    assert relative_error(analytic, numeric) < 1e-7


# ---------------------------------------------------------------- documentation
def test_every_public_docstring_cites_a_chapter_label_that_exists():
    import inspect
    import re
    from pathlib import Path

    from nnlib import autodiff
    objs = [autodiff] + [getattr(autodiff, name) for name in autodiff.__all__]
    objs += [getattr(Value, name) for name in vars(Value)
             if not name.startswith("_") and callable(getattr(Value, name))]
    objs += [getattr(Value, name) for name in ("__add__", "__sub__", "__mul__", "__truediv__",
                                               "__pow__", "__neg__", "__abs__")]
    objs += [getattr(ValueMLP, name) for name in vars(ValueMLP) if not name.startswith("_")]
    chapter = (Path(__file__).resolve().parents[1] / "chapters" / "11_autodiff.ipynb").read_text()
    for obj in objs:
        doc = inspect.getdoc(obj) or ""
        assert "{ref}`sec-" in doc, obj
        for label in re.findall(r"\{ref\}`(sec-autodiff[\w-]*)`", doc):
            assert f"({label})=" in chapter, (obj, label)


def test_matches_pytorch_on_an_expression_with_every_operation():
    torch = pytest.importorskip("torch", reason="PyTorch is optional: parity test skipped without it")
    point = [0.7, -1.3, 0.4]

    def expr(a, b, c, mx, ex, lg, th, sg, rl):
        return th(a * b - c / b) + mx(a, c) ** 2 + lg(ex(abs(b) * 0.5) + 1.0) + sg(rl(a) - c) * 3.0

    vals = [Value(v) for v in point]
    out = expr(*vals, maximum, Value.exp, Value.log, Value.tanh, Value.sigmoid, Value.relu)
    out.backward()
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in point]
    out_t = expr(*ts, torch.maximum, torch.exp, torch.log, torch.tanh, torch.sigmoid, torch.relu)
    out_t.backward()
    assert out.data == pytest.approx(out_t.item(), rel=1e-14)
    for v, t in zip(vals, ts):
        assert v.grad == pytest.approx(t.grad.item(), rel=1e-13, abs=1e-15)
