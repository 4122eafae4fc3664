"""Bad inputs fail at the Python boundary with a message naming the argument, expected and got."""
import numpy as np
import pytest

import nnlib


@pytest.fixture
def net():
    return nnlib.MLP([2, 4, 1], hidden="tanh", output="sigmoid", seed=0)


@pytest.fixture
def xor():
    return nnlib.datasets.xor()


def test_wrong_number_of_columns(net):
    with pytest.raises(ValueError, match=r"X has 3 columns \(shape \(4, 3\)\).*expects 2 inputs"):
        net.forward(np.zeros((4, 3)))


def test_y_rows_differ_from_X_rows(net, xor):
    X, y = xor
    with pytest.raises(ValueError, match=r"y has 3 rows but X has 4 rows"):
        net.loss_and_grads(X, y[:3])


def test_y_width_differs_from_output_size(net, xor):
    X, _ = xor
    with pytest.raises(ValueError, match=r"y has 2 columns \(shape \(4, 2\)\).*output layer has 1 units"):
        net.fit(X, np.zeros((4, 2)))


def test_one_d_labels_for_several_outputs():
    net = nnlib.MLP([2, 3], output="softmax", seed=0)
    with pytest.raises(ValueError, match=r"y is 1-D with shape \(4,\).*\(4, 3\).*one_hot"):
        net.loss(np.zeros((4, 2)), np.array([0, 1, 2, 0]), loss="cross_entropy")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_X(net, xor, bad):
    X, y = xor
    X = X.copy()
    X[1, 1] = bad
    with pytest.raises(ValueError, match=r"X contains 1 NaN or inf value"):
        net.fit(X, y)


def test_nan_in_y(net, xor):
    X, y = xor
    with pytest.raises(ValueError, match=r"y contains 1 NaN or inf"):
        net.loss(X, np.array([[0.0], [np.nan], [1.0], [0.0]]))


def test_strings_in_X(net):
    with pytest.raises(TypeError, match=r"X must be an array of numbers.*dtype <U"):
        net.forward([["a", "b"], ["c", "d"]])
    with pytest.raises(TypeError, match=r"X must be an array of numbers.*got a string"):
        net.forward("1 2")


def test_objects_in_X(net):
    with pytest.raises(TypeError, match=r"X must be an array of numbers.*dtype object"):
        net.forward(np.array([[1, None]], dtype=object))


def test_empty_X(net):
    with pytest.raises(ValueError, match=r"X is empty \(shape \(0, 2\)\)"):
        net.forward(np.zeros((0, 2)))


def test_one_d_X_suggests_reshape(net):
    with pytest.raises(ValueError, match=r"X must be 2-D with shape \(N, 2\), got 1-D shape \(2,\)"
                                         r".*X.reshape\(-1, 1\).*X.reshape\(1, -1\)"):
        net.forward(np.array([0.0, 1.0]))


def test_unknown_activation_lists_known():
    with pytest.raises(ValueError, match=r"unknown hidden activation 'relu6'; expected one of "
                                         r"'identity', 'sigmoid', 'tanh', 'relu'"):
        nnlib.MLP([2, 2, 1], hidden="relu6")
    with pytest.raises(ValueError, match=r"unknown output activation 'softplus'.*'softmax'"):
        nnlib.MLP([2, 1], output="softplus")
    with pytest.raises(ValueError, match=r"unknown activation 'gelu'"):
        nnlib.activations.get("gelu")


def test_unknown_loss_lists_known(net, xor):
    with pytest.raises(ValueError, match=r"unknown loss 'hinge'; expected one of 'mse', 'bce', "
                                         r"'cross_entropy'"):
        net.loss(*xor, loss="hinge")


@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), float("inf")])
def test_bad_learning_rate(net, xor, lr):
    with pytest.raises(ValueError, match=r"lr must be a finite number > 0, got"):
        net.fit(*xor, lr=lr)


def test_learning_rate_not_a_number(net, xor):
    with pytest.raises(TypeError, match=r"lr must be a positive number, got '0.1'"):
        net.fit(*xor, lr="0.1")


def test_epochs_below_one(net, xor):
    with pytest.raises(ValueError, match=r"epochs must be >= 1, got 0"):
        net.fit(*xor, epochs=0)
    with pytest.raises(TypeError, match=r"epochs must be an integer >= 1, got 2.5"):
        net.fit(*xor, epochs=2.5)


def test_batch_size_below_one(net, xor):
    with pytest.raises(ValueError, match=r"batch_size must be >= 1, got 0"):
        net.fit(*xor, batch_size=0)


def test_layer_sizes():
    with pytest.raises(ValueError, match=r"sizes\[1\] must be >= 1.*got 0 in sizes=\[2, 0, 1\]"):
        nnlib.MLP([2, 0, 1])
    with pytest.raises(ValueError, match=r"sizes must list at least two layers.*got \[3\]"):
        nnlib.MLP([3])
    with pytest.raises(TypeError, match=r"sizes\[1\] must be an integer, got 2.5"):
        nnlib.MLP([2, 2.5, 1])


def test_wrong_loss_output_pairing(xor):
    net = nnlib.MLP([2, 3, 1], output="identity", seed=0)
    with pytest.raises(ValueError, match=r"loss='bce' does not fit output='identity'.*needs "
                                         r"output='sigmoid'.*use loss='mse'"):
        net.fit(*xor, loss="bce")
    soft = nnlib.MLP([2, 3, 2], output="softmax", seed=0)
    with pytest.raises(ValueError, match=r"loss='mse' does not fit output='softmax'.*"
                                         r"use loss='cross_entropy'"):
        soft.loss_and_grads(xor[0], np.eye(2)[[0, 1, 1, 0]], loss="mse")


def test_other_options(net, xor):
    with pytest.raises(ValueError, match=r"unknown optimizer 'rmsprop'"):
        net.fit(*xor, optimizer="rmsprop")
    with pytest.raises(ValueError, match=r"momentum must be a finite number in \[0, 1\), got 1.5"):
        net.fit(*xor, momentum=1.5)
    with pytest.raises(ValueError, match=r"patience \(early stopping\) needs validation_data"):
        net.fit(*xor, patience=3)
    with pytest.raises(ValueError, match=r"validation_data\[0\] has 3 columns"):
        net.fit(*xor, validation_data=(np.zeros((2, 3)), np.zeros((2, 1))))
    with pytest.raises(TypeError, match=r"seed must be an int, a numpy.random.Generator or None"):
        nnlib.MLP([2, 1], seed="zero")


def test_integer_and_noncontiguous_inputs_are_accepted(net):
    Xi = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    Xf = np.asfortranarray(np.array([[0, 9, 0], [0, 9, 1], [1, 9, 0], [1, 9, 1]], float))[:, ::2]
    assert not Xf.flags.c_contiguous
    yi = np.array([0, 1, 1, 0])
    np.testing.assert_array_equal(net.forward(Xi), net.forward(Xf))
    a = net.loss_and_grads(Xi, yi)[0]
    b = net.loss_and_grads(Xf, yi.astype(float).reshape(-1, 1))[0]
    assert a == b
    net.fit(Xi, yi, epochs=3, batch_size=3)
    net.fit([[0, 0], [1, 1]], [[0], [1]], epochs=2)


def test_cross_entropy_targets_must_be_distributions():
    """(softmax(z) - y)/N is the gradient only when each row of y sums to 1 (chapter 6): other
    targets are refused at every entry point, not trained on with a wrong gradient."""
    net = nnlib.MLP([2, 3, 2], hidden="tanh", output="softmax", seed=0)
    X = np.ones((2, 2))
    bad = np.array([[1.0, 1.0], [0.0, 1.0]])
    for call in (lambda: net.loss_and_grads(X, bad, loss="cross_entropy"),
                 lambda: net.loss(X, bad, loss="cross_entropy"),
                 lambda: net.fit(X, bad, loss="cross_entropy", epochs=1),
                 lambda: net.fit(X, np.eye(2), loss="cross_entropy", epochs=1,
                                 validation_data=(X, bad)),
                 lambda: nnlib.losses.cross_entropy_grad(np.zeros((2, 2)), bad)):
        with pytest.raises(ValueError, match=r"row 0 .*probability distribution"):
            call()
    soft = np.array([[0.25, 0.75], [0.5, 0.5]])          # soft labels are distributions: accepted
    assert np.isfinite(net.loss_and_grads(X, soft, loss="cross_entropy")[0])
    assert nnlib.gradcheck(net, X, soft, loss="cross_entropy") < 1e-7
