"""The playground: train a small network on 2-D data and watch it learn (page {ref}`sec-playground`).

Not imported by ``import nnlib`` (it needs matplotlib, and ipywidgets for the live version); use
``from nnlib import playground``. Three parts:

* :class:`Run` trains one network on one data set, epoch by epoch, with an optimiser object that
  keeps its state between chunks of epochs, and keeps the loss and accuracy curves.
* :class:`Playground` is the live version for a Jupyter kernel: controls for every choice, start,
  pause, step and reset buttons, and a figure (decision boundary, loss curves, what each hidden
  unit computes) redrawn several times a second while an asyncio task trains.
* :func:`record` and :class:`Gallery` are the static version for the website: runs computed in
  advance, stored as the network's weights at a few epochs, and drawn by a short script that
  evaluates the network itself, with an epoch slider and a play button (no kernel needed).

:func:`check_challenge` checks the page's challenges in Jupyter; :func:`challenge_verdicts` checks
them for every precomputed run, so the website can tell the reader whether a run meets them.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import io
import json
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from . import datasets, optim
from ._validate import check_int, check_name, check_nonnegative, check_positive
from .activations import check_hidden
from .metrics import accuracy
from .mlp import MLP

__all__ = ["DATASETS", "ACTIVATIONS", "OPTIMIZERS", "BOX", "TEST_FRACTION", "MAX_UNIT_MAPS", "FRAME_BUDGET",
           "make_data", "grid_points", "Settings", "run_seeds", "Run", "SEPARATES",
           "OVERFIT_FACTOR", "SPIRALS_CHECK", "PLAYER_TEXT", "ChallengeResult", "overfits", "fixes",
           "check_challenge", "SNAPSHOTS", "RunRecord", "record", "challenge_verdicts", "Gallery",
           "LiveFigure", "Playground", "LIVE_TEXT", "relabel_widget_state"]

#: The data sets, in the order the controls list them.
DATASETS: tuple[str, ...] = ("xor", "circles", "moons", "spirals")
#: Hidden-layer activations offered (the output is always a sigmoid unit: P(class 1)).
ACTIVATIONS: tuple[str, ...] = ("tanh", "relu", "sigmoid")
#: Optimisers offered: the nnlib optimiser each name means, and its options.
OPTIMIZERS: dict[str, dict[str, Any]] = {"sgd": {"optimizer": "sgd"},
                                         "momentum": {"optimizer": "sgd", "momentum": 0.9},
                                         "adam": {"optimizer": "adam"}}
#: The view: the square [-BOX, BOX]^2 of the input plane.
BOX = 1.8
#: Fraction of the points held out as the test set.
TEST_FRACTION = 0.5
#: Hidden units drawn as small maps (the first ones, layer by layer).
MAX_UNIT_MAPS = 32
#: Seconds of training at most in one frame of the live playground (then it redraws).
FRAME_BUDGET = 0.1


def make_data(dataset: str, n: int = 200, noise: float = 0.1, seed: Any = 0) -> tuple[np.ndarray, np.ndarray]:
    """X (n, 2) and y (n, 1) of one of :data:`DATASETS`, placed in the view [-BOX, BOX]^2.

    "xor": :func:`nnlib.datasets.noisy_xor`; "circles": :func:`~nnlib.datasets.circles` (radii 1
    and 0.5); "moons": :func:`~nnlib.datasets.moons` shifted by (-0.5, -0.25) so that it is centred;
    "spirals": :func:`~nnlib.datasets.spirals`. ``noise`` is the standard deviation of the Gaussian
    noise added to every point. The page {ref}`sec-playground`.
    """
    name = check_name(dataset, DATASETS, "data set")
    n = check_int(n, "n", minimum=4)
    noise = check_nonnegative(noise, "noise")
    if name == "xor":
        return datasets.noisy_xor(n, noise, seed)
    if name == "circles":
        return datasets.circles(n, noise, seed=seed)
    if name == "moons":
        X, y = datasets.moons(n, noise, seed)
        return X - np.array([0.5, 0.25]), y
    return datasets.spirals(n, noise, seed)


@dataclass(frozen=True)
class Settings:
    """Every choice of one playground run, checked when made (a clear error names a bad one).

    ``dataset`` (one of :data:`DATASETS`) with ``n`` points and Gaussian ``noise``, half of them
    (:data:`TEST_FRACTION`) held out for testing; a network ``[2, *hidden, 1]`` with ``activation``
    in the hidden layers and a sigmoid output trained on the binary cross-entropy
    (chapter 8, {ref}`sec-why-cross-entropy`); ``optimizer`` (one of :data:`OPTIMIZERS`), learning
    rate ``lr``, mini-batches of ``batch_size`` rows, L2 coefficient ``l2`` (chapter 9,
    {ref}`sec-l2`), and ``dropout``, the rate p at which each hidden unit is dropped in training
    (inverted dropout, as :class:`~nnlib.MLP` does it); ``seed`` fixes the data, the split, the
    initial weights, the shuffles and the dropout masks, each from its own stream
    (:func:`run_seeds`).
    """

    dataset: str = "spirals"
    n: int = 200
    noise: float = 0.1
    hidden: tuple[int, ...] = (8, 8)
    activation: str = "tanh"
    lr: float = 0.03
    batch_size: int = 10
    optimizer: str = "adam"
    l2: float = 0.0
    dropout: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        check_name(self.dataset, DATASETS, "data set")
        check_int(self.n, "n", minimum=8)
        noise = self.noise
        if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise <= 1:
            raise ValueError(f"noise must be between 0 and 1 (a standard deviation in the units of "
                             f"the plane, whose view is [-{BOX}, {BOX}]^2), got {self.noise!r}")
        hidden = self.hidden
        if isinstance(hidden, int) or not all(isinstance(h, (int, np.integer)) for h in hidden):
            raise TypeError(f"hidden must be a tuple of layer widths such as (8, 8), got {hidden!r}")
        if not 1 <= len(hidden) <= 4 or min(hidden) < 1 or max(hidden) > 64:
            raise ValueError(f"hidden must give 1 to 4 hidden layers of 1 to 64 units each, got {hidden!r}")
        object.__setattr__(self, "hidden", tuple(int(h) for h in hidden))
        check_name(self.activation, ACTIVATIONS, "activation")
        check_hidden(self.activation)
        check_positive(self.lr, "lr")
        if self.lr > 10:
            raise ValueError(f"lr must be at most 10, got {self.lr!r}")
        check_int(self.batch_size, "batch_size")
        check_name(self.optimizer, tuple(OPTIMIZERS), "optimizer")
        check_nonnegative(self.l2, "l2")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) \
                or not 0 <= self.dropout <= 0.9:
            raise ValueError(f"dropout must be a rate between 0 and 0.9 (the fraction of hidden units "
                             f"dropped in each training step), got {self.dropout!r}")
        check_int(self.seed, "seed", minimum=0)

    @property
    def sizes(self) -> list[int]:
        """The layer widths ``[2, *hidden, 1]`` (chapter 3, {ref}`sec-parameter-count`)."""
        return [2, *self.hidden, 1]

    @property
    def architecture(self) -> str:
        """The layer widths as text, e.g. "2-8-8-1" (chapter 3, {ref}`sec-parameter-count`)."""
        return "-".join(map(str, self.sizes))

    def num_parameters(self) -> int:
        """sum_l (n_{l-1} n_l + n_l), the weights and biases (chapter 3, {ref}`sec-parameter-count`)."""
        s = self.sizes
        return sum(a * b + b for a, b in zip(s[:-1], s[1:]))


def grid_points(res: int) -> np.ndarray:
    """(res * res, 2) centres of a res x res grid of cells over [-BOX, BOX]^2, row by row from
    the bottom row (y = -BOX) up, x increasing along a row (image rows with ``origin="lower"``).
    The page {ref}`sec-playground`."""
    res = check_int(res, "res", minimum=2)
    c = -BOX + (np.arange(res) + 0.5) * (2 * BOX / res)
    gx, gy = np.meshgrid(c, c)
    return np.column_stack([gx.ravel(), gy.ravel()])


def run_seeds(seed: int) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
    """Three independent generators from one seed, for a run's data, its train/test split and its
    network (initial weights, shuffles, dropout masks): ``np.random.SeedSequence(seed).spawn(3)``,
    so that no two of them draw the same stream (chapter 9, {ref}`sec-faq-overfitting`, on why
    the test points must be independent of the training). The page {ref}`sec-playground`."""
    seed = check_int(seed, "seed", minimum=0)
    data, split, net = np.random.SeedSequence(seed).spawn(3)
    return np.random.default_rng(data), np.random.default_rng(split), np.random.default_rng(net)


class Run:
    """One network being trained: its data, its :class:`~nnlib.MLP`, its optimiser, its curves.

    Each epoch visits the training rows in an order shuffled by the network's generator, in
    mini-batches of ``batch_size``; with dropout, each batch draws a fresh mask from that generator
    (``MLP.dropout_mask``); each batch's gradient (``MLP.loss_and_grads``) goes to one
    :class:`~nnlib.SGD` or :class:`~nnlib.Adam` object, which keeps its state (velocity, moments,
    step count) for the whole run, so training in chunks (``train(5)`` then ``train(5)``) gives
    exactly what ``train(10)`` gives. The learning rate, batch size and L2 may change between
    chunks (:meth:`update`); changing the optimiser starts a fresh one.
    Curves, one entry per epoch, entry 0 before training, each over the whole set after the
    epoch: ``train_loss``, ``test_loss`` (binary cross-entropy without the L2 penalty),
    ``train_accuracy``, ``test_accuracy``. The loop is chapter 7's ({ref}`sec-batch-sizes`,
    {ref}`sec-momentum`, {ref}`sec-adam`); L2 is chapter 9's ({ref}`sec-l2`).
    """

    def __init__(self, settings: Settings | None = None, **changes: Any) -> None:
        s = replace(settings or Settings(), **changes)
        self.settings = s
        data_seed, split_seed, net_seed = run_seeds(s.seed)
        X, y = make_data(s.dataset, s.n, s.noise, seed=data_seed)
        self.X_train, self.X_test, self.y_train, self.y_test = datasets.train_test_split(
            X, y, TEST_FRACTION, seed=split_seed)
        self.net = MLP(s.sizes, hidden=s.activation, output="sigmoid", seed=net_seed, dropout=s.dropout)
        self.optimizer = self._new_optimizer()
        #: None, or why training stopped (the loss became NaN or inf).
        self.diverged: str | None = None
        self.train_loss: list[float] = []
        self.test_loss: list[float] = []
        self.train_accuracy: list[float] = []
        self.test_accuracy: list[float] = []
        self._measure()

    def _new_optimizer(self) -> optim.SGD | optim.Adam:
        s = self.settings
        options = OPTIMIZERS[s.optimizer]
        if options["optimizer"] == "adam":
            return optim.Adam(self.net, lr=s.lr, weight_decay=s.l2)
        return optim.SGD(self.net, lr=s.lr, momentum=options.get("momentum", 0.0), weight_decay=s.l2)

    def _measure(self) -> None:
        net = self.net
        self.train_loss.append(net.loss(self.X_train, self.y_train, loss="bce"))
        self.test_loss.append(net.loss(self.X_test, self.y_test, loss="bce"))
        self.train_accuracy.append(accuracy(self.y_train, net.forward(self.X_train)))
        self.test_accuracy.append(accuracy(self.y_test, net.forward(self.X_test)))

    @property
    def epoch(self) -> int:
        """Epochs trained so far (chapter 7, {ref}`sec-batch-sizes`)."""
        return len(self.train_loss) - 1

    def update(self, **changes: Any) -> None:
        """Change the learning rate, batch size, optimiser or L2 for the next epochs (a new optimiser
        starts with fresh state); anything else (data, architecture, activation, seed) needs a new
        Run. The page {ref}`sec-playground`."""
        allowed = {"lr", "batch_size", "optimizer", "l2"}
        bad = sorted(set(changes) - allowed)
        if bad:
            raise ValueError(f"Run.update() can change {sorted(allowed)} while training; {bad} "
                             "define a new network or data set: make a new Run")
        old = self.settings
        self.settings = replace(old, **changes)
        if self.settings.optimizer != old.optimizer:
            self.optimizer = self._new_optimizer()
        else:
            self.optimizer.lr = self.settings.lr
            self.optimizer.weight_decay = self.settings.l2

    def train(self, epochs: int = 1) -> None:
        """Train ``epochs`` more epochs and extend the curves (chapter 7, {ref}`sec-batch-sizes`).

        If the loss becomes NaN or inf, the weights go back to their values before that epoch
        and ``diverged`` says so; later calls do nothing (chapter 7, {ref}`sec-learning-rate`).
        """
        epochs = check_int(epochs, "epochs")
        net, X, y = self.net, self.X_train, self.y_train
        N = X.shape[0]
        for _ in range(epochs):
            if self.diverged:
                return
            B = min(self.settings.batch_size, N)
            before = net.params.copy()
            order = net.rng.permutation(N)
            for start in range(0, N, B):
                rows = order[start:start + B]
                mask = net.dropout_mask(len(rows)) if self.settings.dropout else None
                _, grads = net.loss_and_grads(X[rows], y[rows], loss="bce", mask=mask)
                self.optimizer.step(grads)
            if not np.all(np.isfinite(net.params)) or not math.isfinite(net.loss(X, y, loss="bce")):
                net.params[...] = before
                self.diverged = (f"the loss became NaN or inf in epoch {self.epoch + 1} with "
                                 f"lr={self.settings.lr:g}; the weights were reset to the epoch before. "
                                 "Lower the learning rate.")
                return
            self._measure()

    def probability(self, res: int = 64) -> np.ndarray:
        """(res, res) P(class 1) over the view, rows from the bottom (see :func:`grid_points`).
        The network predicts class 1 where it is >= 0.5 (chapter 4, {ref}`sec-representations`)."""
        return self.net.forward(grid_points(res))[:, 0].reshape(res, res)

    def unit_maps(self, res: int = 24) -> list[np.ndarray]:
        """What each hidden unit computes: its activation over the view, (res, res) per unit, layer
        by layer (at most :data:`MAX_UNIT_MAPS`), each divided by its largest |value| so that it lies
        in [-1, 1] with 0 still at 0 (chapter 4's hidden-space view, {ref}`sec-representations`)."""
        _, acts = self.net.forward_trace(grid_points(res))
        maps = []
        for A in acts[1:-1]:
            for k in range(A.shape[1]):
                m = A[:, k].reshape(res, res)
                top = np.abs(m).max()
                maps.append(m / top if top > 0 else m)
        return maps[:MAX_UNIT_MAPS]

    def __repr__(self) -> str:
        s = self.settings
        return (f"Run({s.dataset}, {s.architecture} {s.activation}, {s.optimizer} lr={s.lr:g}, "
                f"epoch {self.epoch})")


# --------------------------------------------------------------------------- challenges
#: Challenge 1: the test accuracy a network must reach on the spirals to "separate" them.
SEPARATES = 0.9
#: Challenge 2: a run overfits when its final test loss is at least this factor above its lowest.
OVERFIT_FACTOR = 1.5
#: The spirals on which check_challenge(1, net) measures a network: fresh points, never trained on.
SPIRALS_CHECK = {"n": 1000, "noise": 0.05, "seed": 2024}

#: The static player's words, by language (the page's ``<html lang>`` chooses; English when the
#: language has no table). Verdict texts have {fields} filled from ``ChallengeResult.values``;
#: a value "@key" stands for the table's text under that key. Numbers come formatted by Python.
PLAYER_TEXT: dict[str, dict[str, str]] = {"en": {
    "dataset": "Data set", "hidden": "Network", "lr": "Learning rate", "l2": "L2", "epoch_label": "Epoch",
    "play": "Play", "pause": "Pause", "off": "0 (off)",
    "xor": "XOR", "circles": "circles", "moons": "moons", "spirals": "spirals",
    "caption": "Precomputed training runs: decision map with the data, loss curves, and what each "
               "hidden unit computes, at the chosen epoch",
    "title_map": "P(class 1) over the plane, and the data", "title_loss": "loss",
    "title_units": "what each hidden unit computes", "axis_epoch": "epoch", "layer": "layer {k}",
    "class0": "class 0", "class1": "class 1", "train_point": "filled: training point",
    "test_point": "ring: test point", "key_map": "P(class 1):", "key_boundary": "(black line: P = 0.5, "
    "the decision boundary)", "key_unit": "hidden unit:", "key_zero": "(white: 0)",
    "key_loss": "loss (log scale):", "training": "training", "test": "test",
    "epoch_value": "epoch {epoch}",
    "alt": "Network {hidden} on the {dataset} data (learning rate {lr}, L2 {l2}) at epoch {epoch}: "
           "predicted probability of class 1 over the plane with the data, loss curves, and the map "
           "of each hidden unit",
    "status": "Epoch {epoch} of {last}: training loss {train_loss}, test loss {test_loss}; accuracy "
              "{train_accuracy} % on the training points, {test_accuracy} % on the test points.",
    "stopped": " Training stopped after epoch {epoch}: the loss became NaN or infinite (the step is "
               "too large).",
    "met": "Challenge {k}: met by this run ({why}).",
    "not_met": "Challenge {k}: not met by this run ({why}).",
    "not_spirals": "not the spirals: choose the spirals data set",
    "separates": "{architecture}, {parameters} parameters: final test accuracy {accuracy} (needs {needs})",
    "separates_fresh": "{architecture} network, {parameters} parameters: accuracy {accuracy} on {n} fresh "
                       "spiral points (needs {needs})",
    "overfit": "test loss {best} at its lowest (epoch {best_epoch}), {end} at the end (epoch {last}): "
               "{ratio} times the lowest; training loss {train_best} then {train_end} ({falling})",
    "falling": "still falling", "flat": "not falling",
    "no_l2": "no L2 here: switch L2 on for a run that overfits",
    "no_twin": "no run without L2 to compare with",
    "not_same": "not the same data and architecture ({diff})",
    "no_overfit": "the first run does not overfit (challenge 2): test loss {best} at its lowest (epoch "
                  "{best_epoch}), {end} at the end (epoch {last}): {ratio} times the lowest; training "
                  "loss {train_best} then {train_end} ({falling})",
    "fix": "final test loss {before} -> {after}; {state}: test loss {best} at its lowest (epoch "
           "{best_epoch}), {end} at the end (epoch {last}): {ratio} times the lowest; training loss "
           "{train_best} then {train_end} ({falling})",
    "still_overfits": "still overfits", "no_overfitting": "no overfitting",
}, "zh": {  # terms from the course's glossary (shared/glossary-zh.md)
    "dataset": "数据集", "hidden": "网络", "lr": "学习率", "l2": "L2", "epoch_label": "迭代周期",
    "play": "播放", "pause": "暂停", "off": "0（关闭）",
    "xor": "XOR", "circles": "同心圆", "moons": "双月", "spirals": "双螺旋",
    "caption": "预先计算的训练过程：数据与决策区域、损失曲线，以及每个隐藏单元在所选迭代周期计算的内容",
    "title_map": "平面上的 P(类别 1) 与数据", "title_loss": "损失", "title_units": "每个隐藏单元计算的内容",
    "axis_epoch": "迭代周期", "layer": "第 {k} 层", "class0": "类别 0", "class1": "类别 1",
    "train_point": "实心：训练点", "test_point": "空心圆：测试点", "key_map": "P(类别 1)：",
    "key_boundary": "（黑线：P = 0.5，即决策边界）", "key_unit": "隐藏单元：", "key_zero": "（白色：0）",
    "key_loss": "损失（对数坐标）：", "training": "训练", "test": "测试", "epoch_value": "迭代周期 {epoch}",
    "alt": "{dataset}数据上的 {hidden} 网络（学习率 {lr}，L2 {l2}）在第 {epoch} 个迭代周期："
           "平面上预测的类别 1 概率与数据、损失曲线，以及每个隐藏单元的图",
    "status": "迭代周期 {epoch}/{last}：训练损失 {train_loss}，测试损失 {test_loss}；准确率：训练点 "
              "{train_accuracy}%，测试点 {test_accuracy}%。",
    "stopped": " 训练在第 {epoch} 个迭代周期后停止：损失变为 NaN 或无穷大（步长太大）。",
    "met": "挑战 {k}：本次训练达成（{why}）。", "not_met": "挑战 {k}：本次训练未达成（{why}）。",
    "not_spirals": "不是双螺旋：请选择双螺旋数据集",
    "separates": "{architecture}，{parameters} 个参数：最终测试准确率 {accuracy}（需要 {needs}）",
    "separates_fresh": "{architecture} 网络，{parameters} 个参数：在 {n} 个新的双螺旋点上准确率 {accuracy}"
                       "（需要 {needs}）",
    "overfit": "测试损失最低 {best}（迭代周期 {best_epoch}），最终 {end}（迭代周期 {last}）：为最低值的 "
               "{ratio} 倍；训练损失 {train_best}，之后 {train_end}（{falling}）",
    "falling": "仍在下降", "flat": "不再下降",
    "no_l2": "这次训练没有 L2：请在一个过拟合的训练上打开 L2", "no_twin": "没有可比较的无 L2 训练",
    "not_same": "数据或网络结构不同（{diff}）",
    "no_overfit": "第一次训练没有过拟合（挑战 2）：测试损失最低 {best}（迭代周期 {best_epoch}），最终 {end}"
                  "（迭代周期 {last}）：为最低值的 {ratio} 倍；训练损失 {train_best}，"
                  "之后 {train_end}（{falling}）",
    "fix": "最终测试损失 {before} -> {after}；{state}：测试损失最低 {best}（迭代周期 {best_epoch}），最终 "
           "{end}（迭代周期 {last}）：为最低值的 {ratio} 倍；训练损失 {train_best}，"
           "之后 {train_end}（{falling}）",
    "still_overfits": "仍然过拟合", "no_overfitting": "没有过拟合",
}}


def _fill(template: str, values: dict[str, str], lang: str = "en") -> str:
    """The text of ``template`` in ``lang`` with its {fields} filled (as the player's script does)."""
    table = PLAYER_TEXT.get(lang, PLAYER_TEXT["en"])
    words = {k: table[v[1:]] if v.startswith("@") else v for k, v in values.items()}
    return table[template].format_map(words)


def _result(challenge: int, passed: bool, template: str, values: dict[str, str],
            numbers: dict[str, float] | None = None) -> ChallengeResult:
    return ChallengeResult(challenge, passed, _fill(template, values), numbers or {}, template, values)


@dataclass
class ChallengeResult:
    """The verdict on one challenge: ``passed``, and ``message`` saying why in numbers
    (the page {ref}`sec-playground-challenges`)."""

    challenge: int
    passed: bool
    message: str
    numbers: dict[str, float] = field(default_factory=dict)
    #: The message as a key of the player's text table (:data:`PLAYER_TEXT`) and the values it
    #: fills in, so that the static player can show it in the page's language.
    template: str = ""
    values: dict[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"Challenge {self.challenge}: {'met' if self.passed else 'not met'}. {self.message}"


def _curves(run: Any) -> tuple[np.ndarray, np.ndarray]:
    tr = np.asarray(run.train_loss, dtype=float)
    te = np.asarray(run.test_loss, dtype=float)
    if te.size < 2:
        raise ValueError("the run has not been trained yet (no test loss after an epoch): train it first")
    return tr, te


def overfits(run: Any) -> ChallengeResult:
    """Challenge 2's criterion: test loss at the end >= OVERFIT_FACTOR x its minimum over training,
    and training loss at the end below its value at that minimum (the test loss rises while the
    training loss falls: chapter 9, {ref}`sec-faq-overfitting`). ``run``: a :class:`Run` or
    :class:`RunRecord`."""
    tr, te = _curves(run)
    best = int(np.nanargmin(te))
    ratio = float(te[-1] / te[best]) if te[best] > 0 else math.inf
    falling = bool(tr[-1] < tr[best])
    passed = ratio >= OVERFIT_FACTOR and falling
    values = {"best": f"{te[best]:.3g}", "best_epoch": str(best), "end": f"{te[-1]:.3g}",
              "last": str(te.size - 1), "ratio": f"{ratio:.2f}", "train_best": f"{tr[best]:.3g}",
              "train_end": f"{tr[-1]:.3g}", "falling": "@falling" if falling else "@flat"}
    return _result(2, passed, "overfit", values, {"ratio": ratio, "best_epoch": best})


def fixes(run: Any, overfit_run: Any) -> ChallengeResult:
    """Challenge 3's criterion: ``run`` has the data and architecture of ``overfit_run``, which
    overfits (:func:`overfits`); ``run`` does not, and its final test loss is lower
    (chapter 9, {ref}`sec-l2`, {ref}`sec-early-stopping`)."""
    a, b = run.settings, overfit_run.settings
    same = {k: getattr(a, k) for k in ("dataset", "n", "noise", "seed", "hidden", "activation")}
    other = {k: getattr(b, k) for k in same}
    if same != other:
        diff = ", ".join(f"{k} {other[k]!r} -> {same[k]!r}" for k in same if same[k] != other[k])
        return _result(3, False, "not_same", {"diff": diff})
    before, after = overfits(overfit_run), overfits(run)
    if not before:
        return _result(3, False, "no_overfit", before.values)
    end_before, end_after = float(overfit_run.test_loss[-1]), float(run.test_loss[-1])
    passed = not after and end_after < end_before
    values = {"before": f"{end_before:.3g}", "after": f"{end_after:.3g}",
              "state": "@still_overfits" if after else "@no_overfitting", **after.values}
    return _result(3, passed, "fix", values, {"before": end_before, "after": end_after})


def check_challenge(number: int, subject: Any, overfit_run: Any = None) -> ChallengeResult:
    """Check one of the page's challenges ({ref}`sec-playground-challenges`) in Jupyter.

    1: ``subject`` is a network (an :class:`~nnlib.MLP` with 2 inputs and one sigmoid output, or a
    :class:`Run`, or the :class:`Playground`): it passes when its accuracy on fresh spirals
    (:data:`SPIRALS_CHECK`, points it never saw) is at least :data:`SEPARATES`; the message gives
    its parameter count, the number to make small. 2: ``subject`` is a :class:`Run` (or the
    Playground): it passes when it overfits (:func:`overfits`). 3: ``subject`` is a Run and
    ``overfit_run`` the one that overfitted (:func:`fixes`).
    """
    if isinstance(subject, Playground):
        subject = subject.run
    if number == 1:
        net = subject.net if isinstance(subject, Run) else subject
        if not isinstance(net, MLP) or net.sizes[0] != 2 or net.sizes[-1] != 1 or net.output != "sigmoid":
            raise TypeError("challenge 1 checks a network with 2 inputs and one sigmoid output (an MLP, a "
                            f"Run or the Playground), got {subject!r}")
        X, y = make_data("spirals", **SPIRALS_CHECK)
        acc = accuracy(y, net.forward(X))
        p = net.num_parameters()
        passed = acc >= SEPARATES
        values = {"architecture": "-".join(map(str, net.sizes)), "parameters": str(p),
                  "accuracy": f"{acc:.1%}", "n": str(SPIRALS_CHECK["n"]), "needs": f"{SEPARATES:.0%}"}
        return _result(1, passed, "separates_fresh", values, {"accuracy": acc, "parameters": p})
    if not isinstance(subject, (Run, RunRecord)):
        raise TypeError(f"challenge {number} checks a Run (or the Playground), got {type(subject).__name__}")
    if number == 2:
        return overfits(subject)
    if number == 3:
        if overfit_run is None:
            raise ValueError("challenge 3 compares two runs: check_challenge(3, fixed_run, overfit_run)")
        if isinstance(overfit_run, Playground):
            overfit_run = overfit_run.run
        return fixes(subject, overfit_run)
    raise ValueError(f"there are challenges 1, 2 and 3, got {number!r}")


# --------------------------------------------------------------------------- precomputed runs
#: The epochs at which a precomputed run keeps the network's weights (denser early, where the
#: boundary moves fastest).
SNAPSHOTS: tuple[int, ...] = (0, 1, 2, 3, 4, 6, 8, 10, 13, 16, 20, 25, 30, 40, 50, 60, 75, 90, 110,
                              130, 150, 175, 200, 225, 250, 275, 300)


@dataclass
class RunRecord:
    """A run computed in advance: its settings, the curves of :class:`Run` (one entry per epoch),
    and the parameters (float32, nnlib's flat layout W_1, b_1, W_2, ...) at each epoch of
    ``snapshots``. ``stopped``: the epoch after which the loss became NaN or inf, else None.
    The page {ref}`sec-playground-runs`."""

    settings: Settings
    snapshots: tuple[int, ...]
    params: np.ndarray                 # (len(snapshots), P) float32
    train_loss: list[float]
    test_loss: list[float]
    train_accuracy: list[float]
    test_accuracy: list[float]
    stopped: int | None = None

    def final(self) -> dict[str, float]:
        """Loss and accuracy at the last epoch trained (chapter 7, {ref}`sec-when-to-stop`)."""
        return {"train_loss": self.train_loss[-1], "test_loss": self.test_loss[-1],
                "train_accuracy": self.train_accuracy[-1], "test_accuracy": self.test_accuracy[-1]}


def record(settings: Settings, snapshots: tuple[int, ...] = SNAPSHOTS) -> RunRecord:
    """Train a :class:`Run` up to the last epoch of ``snapshots`` (strictly increasing, from 0), in
    chunks that end at the snapshots, and keep its weights there. The page {ref}`sec-playground-runs`."""
    snaps = tuple(int(e) for e in snapshots)
    if not snaps or snaps[0] != 0 or any(b <= a for a, b in zip(snaps, snaps[1:])):
        raise ValueError(f"snapshots must be strictly increasing epochs starting at 0, got {snapshots!r}")
    run = Run(settings)
    params = [run.net.params.astype(np.float32)]
    stopped = None
    for a, b in zip(snaps, snaps[1:]):
        run.train(b - a)
        if run.diverged and stopped is None:
            stopped = run.epoch
        params.append(run.net.params.astype(np.float32))
    return RunRecord(run.settings, snaps, np.array(params), run.train_loss, run.test_loss,
                     run.train_accuracy, run.test_accuracy, stopped)


def challenge_verdicts(records: list[RunRecord]) -> list[list[ChallengeResult]]:
    """For each record, its verdicts on challenges 1, 2 and 3 (stated on the page,
    {ref}`sec-playground-challenges`).

    1: the run is on the spirals and ends with test accuracy >= :data:`SEPARATES` (its parameter
    count is what to minimise); 2: :func:`overfits`; 3: there is a record with the same settings
    but no L2 that overfits, and this one fixes it (:func:`fixes`). The page
    {ref}`sec-playground-challenges`.
    """
    out = []
    for rec in records:
        s = rec.settings
        acc = rec.test_accuracy[-1]
        if s.dataset != "spirals":
            v1 = _result(1, False, "not_spirals", {})
        else:
            v1 = _result(1, acc >= SEPARATES, "separates",
                         {"architecture": s.architecture, "parameters": str(s.num_parameters()),
                          "accuracy": f"{acc:.1%}", "needs": f"{SEPARATES:.0%}"},
                         {"accuracy": acc, "parameters": s.num_parameters()})
        v2 = overfits(rec)
        if s.l2 == 0:
            v3 = _result(3, False, "no_l2", {})
        else:
            twin = [r for r in records if r.settings == replace(s, l2=0.0)]
            v3 = fixes(rec, twin[0]) if twin else _result(3, False, "no_twin", {})
        out.append([v1, v2, v3])
    return out


# --------------------------------------------------------------------------- the static player


def _lut(cmap: Any) -> str:
    """256 colours of a matplotlib colour map as one hex string (6 characters per colour)."""
    import matplotlib

    cm = matplotlib.colormaps[cmap] if isinstance(cmap, str) else cmap
    rgb = (np.asarray(cm(np.linspace(0.0, 1.0, 256)))[:, :3] * 255).round().astype(np.uint8)
    return rgb.tobytes().hex()


def _gradient(cmap: Any, stops: int = 9) -> str:
    import matplotlib

    cm = matplotlib.colormaps[cmap] if isinstance(cmap, str) else cmap
    cols = [matplotlib.colors.to_hex(cm(t)) for t in np.linspace(0.0, 1.0, stops)]
    return "linear-gradient(to right, " + ", ".join(cols) + ")"


class Gallery:
    """The precomputed runs as one self-contained HTML player (no kernel, no request).

    ``records`` (from :func:`record`) must form a full grid over data set x architecture x
    learning rate x L2, all else equal; the reader picks one value of each with a select box,
    and moves through the snapshots with an epoch slider or the play button. The page stores each
    snapshot's weights (float32) and the curves, and a short script evaluates the network over
    the plane to draw P(class 1), the data, the loss curves and every hidden unit's map; so the
    page weighs what the weights weigh, not what pictures would. Each run's verdicts on the
    challenges (:func:`challenge_verdicts`, computed here in Python from the run's numbers) are
    shown beside it. The page {ref}`sec-playground-runs`.
    """

    def __init__(self, records: list[RunRecord], caption: str = "") -> None:
        if not records:
            raise ValueError("Gallery needs at least one RunRecord (from playground.record)")
        self.records = list(records)
        first = self.records[0].settings
        self.axes = {
            "dataset": sorted({r.settings.dataset for r in records}, key=DATASETS.index),
            "hidden": sorted({r.settings.hidden for r in records}, key=lambda h: (len(h), h)),
            "lr": sorted({r.settings.lr for r in records}),
            "l2": sorted({r.settings.l2 for r in records}),
        }
        index = {}
        data_of: dict[str, Settings] = {}
        for k, r in enumerate(self.records):
            s = r.settings
            seen = data_of.setdefault(s.dataset, s)
            if (s.noise, s.n) != (seen.noise, seen.n):
                raise ValueError(f"the runs on {s.dataset} must share their data (the player draws one set "
                                 f"of points per data set): noise {seen.noise:g} and n {seen.n} in one, "
                                 f"noise {s.noise:g} and n {s.n} in another")
            key = tuple(self.axes[a].index(getattr(s, a)) for a in self.axes)
            if key in index:
                raise ValueError(f"two records with the same choices: {s}")
            index[key] = k
            if r.snapshots != self.records[0].snapshots:
                raise ValueError("every record must have the same snapshots")
            same = replace(s, dataset=first.dataset, hidden=first.hidden, lr=first.lr, l2=first.l2,
                           noise=first.noise, n=first.n)
            if same != first:
                raise ValueError(f"records may differ only in data set, architecture, learning rate and "
                                 f"L2; {s} differs from {first} in more")
        n = 1
        for values in self.axes.values():
            n *= len(values)
        if len(index) != n:
            raise ValueError(f"the records cover {len(index)} of the {n} combinations of "
                             f"{ {a: len(v) for a, v in self.axes.items()} }: give a full grid")
        self.index = index
        self.verdicts = challenge_verdicts(self.records)
        #: The picture's text alternative until the script draws (then it describes the run shown);
        #: by default the text table's "caption", in the page's language.
        self.caption = caption

    def data(self) -> dict[str, Any]:
        """Everything the script reads, as JSON-ready values and one base64 block of float32
        (weights and curves). The page {ref}`sec-playground-runs`."""
        from . import viz

        blob = bytearray()
        runs = []
        points = {}
        for k, r in enumerate(self.records):
            s = r.settings
            if s.dataset not in points:
                run = Run(s)
                points[s.dataset] = {
                    "train": np.round(run.X_train, 3).ravel().tolist(),
                    "train_y": run.y_train.ravel().astype(int).tolist(),
                    "test": np.round(run.X_test, 3).ravel().tolist(),
                    "test_y": run.y_test.ravel().astype(int).tolist(),
                    "noise": s.noise, "n": s.n}
            p_off = len(blob)
            blob += np.ascontiguousarray(r.params, dtype="<f4").tobytes()
            c_off = len(blob)
            curves = np.array([r.train_loss, r.test_loss, r.train_accuracy, r.test_accuracy], dtype="<f4")
            blob += curves.tobytes()
            runs.append({"sizes": s.sizes, "params": p_off, "nparams": int(r.params.shape[1]),
                         "curves": c_off, "epochs": len(r.train_loss) - 1, "stopped": r.stopped,
                         "verdicts": [[bool(v.passed), v.template, v.values] for v in self.verdicts[k]]})
        keys = sorted(self.index)
        first = self.records[0].settings
        return {
            "box": BOX, "activation": first.activation, "optimizer": first.optimizer,
            "batch": first.batch_size, "snapshots": list(self.records[0].snapshots),
            "choices": {"dataset": [["@" + d, d] for d in self.axes["dataset"]],
                        "hidden": [["-".join(map(str, (2, *h, 1))), list(h)] for h in self.axes["hidden"]],
                        "lr": [[f"{v:g}", v] for v in self.axes["lr"]],
                        "l2": [[f"{v:g}" if v else "@off", v] for v in self.axes["l2"]]},
            "order": list(self.axes), "index": [[list(k), self.index[k]] for k in keys],
            "points": points, "runs": runs, "text": PLAYER_TEXT,
            "cmaps": {"cls": _lut(viz.CLASS_CMAP), "sign": _lut(viz.SIGN_CMAP)},
            "colours": {"cls": [_hex(c) for c in viz.CLASS_COLOURS]},
            "blob": base64.b64encode(bytes(blob)).decode("ascii"),
        }

    def to_html(self) -> str:
        """The player: select boxes, an epoch slider with its value, a play button, the picture
        (an <img> the script paints), colour keys, the numbers at the epoch and the challenges'
        verdicts (class ``nnviz-explore nnplay``). The page {ref}`sec-playground-runs`."""
        from . import viz

        data = self.data()
        # No "<" inside the <script> element that holds the JSON ("</script>" would end it, "<!--"
        # would change how it is parsed): "\u003c" is the same JSON string, and "<" is only in strings.
        text = json.dumps(data, separators=(",", ":")).replace("<", "\\u003c")
        uid = "nnplay-" + hashlib.sha1(text.encode()).hexdigest()[:12]
        start = {"dataset": len(self.axes["dataset"]) - 1, "hidden": len(self.axes["hidden"]) - 1,
                 "lr": len(self.axes["lr"]) // 2, "l2": 0}
        en = PLAYER_TEXT["en"]

        def t(key: str) -> str:          # English in the page; the script swaps in the page's language
            return f'<span data-text="{key}">{html.escape(en[key])}</span>'

        selects = []
        for key in self.axes:
            opts = "".join(f'<option value="{i}"{" selected" if i == start[key] else ""}'
                           + (f' data-text="{label[1:]}">{html.escape(en[label[1:]])}'
                              if label.startswith("@") else f'>{html.escape(str(label))}') + '</option>'
                           for i, (label, _) in enumerate(data["choices"][key]))
            selects.append(f'<label class="nnviz-control">{t(key)} '
                           f'<select data-key="{key}">{opts}</select></label>')
        last = len(data["snapshots"]) - 1
        cls0, cls1 = (_hex(c) for c in viz.CLASS_COLOURS)
        dot = ('<span style="display:inline-block;width:0.8em;height:0.8em;border-radius:50%;'
               'vertical-align:middle;{}"></span>')
        keys = (
            '<div class="nnplay-keys" style="display:flex;flex-wrap:wrap;gap:0.4em 1.5em;font-size:0.9em">'
            f'<span>{dot.format(f"background:{cls0};border:1px solid #333")} {t("class0")} '
            f'{dot.format(f"background:{cls1};border:1px solid #333")} {t("class1")} ({t("train_point")}; '
            f'{dot.format(f"background:#fff;border:2px solid {cls1}")} {t("test_point")})</span>'
            f'<span>{t("key_map")} 0 <span style="display:inline-block;width:7em;height:0.8em;'
            f'vertical-align:middle;background:{_gradient(viz.CLASS_CMAP)}"></span> 1 '
            f'{t("key_boundary")}</span>'
            f'<span>{t("key_unit")} −max <span style="display:inline-block;width:7em;height:0.8em;'
            f'vertical-align:middle;background:{_gradient(viz.SIGN_CMAP)}"></span> +max '
            f'{t("key_zero")}</span>'
            f'<span>{t("key_loss")} <span style="display:inline-block;width:1.6em;vertical-align:middle;'
            f'border-top:2px solid #000;background:#fff"></span> {t("training")}, '
            '<span style="display:inline-block;width:1.6em;vertical-align:middle;'
            f'border-top:2px dashed #7b3fa0;background:#fff"></span> {t("test")}</span></div>')
        epoch = data["snapshots"][last]
        controls = (
            '<div class="nnviz-controls" style="display:flex;flex-wrap:wrap;gap:0.5em 1.2em;'
            'align-items:center">' + "".join(selects) +
            '<button type="button" class="nnplay-play" style="min-width:5em" data-text="play">'
            f'{en["play"]}</button>'
            f'<label class="nnviz-control">{t("epoch_label")} <input type="range" min="0" '
            f'max="{last}" step="1" value="{last}" aria-valuetext="{en["epoch_value"].format(epoch=epoch)}"> '
            f'<output>{epoch}</output></label></div>')
        alt = (f'alt="{html.escape(self.caption)}"' if self.caption
               else f'alt="{html.escape(en["caption"])}" data-alt="caption"')
        return (f'<div class="nnviz-explore nnplay" id="{uid}">{controls}'
                f'<img style="max-width:100%;background:#fff" {alt} '
                'src="data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEKAAEALAAAAAABAAEAAAICTAEAOw==">'
                f'{keys}<p class="nnplay-status" aria-live="polite"></p>'
                '<ul class="nnplay-challenges"></ul>'
                f'<script type="application/json">{text}</script>'
                f'<script>{_SCRIPT.replace("__UID__", uid)}</script></div>')

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        sizes = " x ".join(f"{len(v)} {k}" for k, v in self.axes.items())
        return f"Gallery({len(self.records)} runs: {sizes}; {len(self.records[0].snapshots)} snapshots each)"


def _hex(colour: str) -> str:
    import matplotlib

    return matplotlib.colors.to_hex(colour)


# The player's script: plain JavaScript, no library. It decodes the weights, evaluates the network
# (nnlib's layout: W_l is n_{l-1} x n_l row by row, then b_l) over a grid of the plane, and paints
# one canvas, copied into the <img> (so the picture has a text alternative and can be saved).
_SCRIPT = r"""
(function () {
  var root = document.getElementById('__UID__');
  var D = JSON.parse(root.querySelector('script[type="application/json"]').textContent);
  var raw = atob(D.blob), bytes = new Uint8Array(raw.length);
  for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
  var buf = bytes.buffer;
  // The words, in the page's language (<html lang>), English when it has no table.
  var lang = (document.documentElement.lang || 'en').toLowerCase().split('-')[0];
  var T = {}, key;
  for (key in D.text.en) { T[key] = (D.text[lang] || {})[key] || D.text.en[key]; }
  function say(key, values) {
    return T[key].replace(/\{(\w+)\}/g, function (m, k) {
      var v = String(values[k]);
      return v.charAt(0) === '@' ? T[v.slice(1)] : v;
    });
  }
  function label(text) { return text.charAt(0) === '@' ? T[text.slice(1)] : text; }
  Array.prototype.forEach.call(root.querySelectorAll('[data-text]'), function (e) {
    e.textContent = T[e.getAttribute('data-text')];
  });
  Array.prototype.forEach.call(root.querySelectorAll('[data-alt]'), function (e) {
    e.alt = T[e.getAttribute('data-alt')];
  });
  function lut(hex) {
    var a = new Uint8Array(768);
    for (var i = 0; i < 768; i++) { a[i] = parseInt(hex.substr(2 * i, 2), 16); }
    return a;
  }
  var CLS = lut(D.cmaps.cls), SGN = lut(D.cmaps.sign), B = D.box;
  var selects = {};
  Array.prototype.forEach.call(root.querySelectorAll('select'), function (s) { selects[s.dataset.key] = s; });
  var slider = root.querySelector('input[type=range]'), out = slider.parentNode.querySelector('output');
  var play = root.querySelector('button.nnplay-play'), img = root.querySelector('img');
  var status = root.querySelector('.nnplay-status'), chall = root.querySelector('.nnplay-challenges');
  var index = {}; D.index.forEach(function (e) { index[e[0].join(',')] = e[1]; });
  var W = 790, H = 300, canvas = document.createElement('canvas'); canvas.width = W; canvas.height = H;
  var ctx = canvas.getContext('2d');
  function act(z) {
    if (D.activation === 'tanh') { return Math.tanh(z); }
    if (D.activation === 'relu') { return z > 0 ? z : 0; }
    return sigmoid(z);
  }
  function params(r, f) {
    var run = D.runs[r];
    return new Float32Array(buf, run.params + 4 * f * run.nparams, run.nparams);
  }
  function sigmoid(z) { return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)); }
  // The network at (x, y): P(class 1), and every hidden activation if `hidden` is an array.
  function forward(run, p, x, y, hidden) {
    var a = [x, y], o = 0, s = run.sizes;
    for (var l = 1; l < s.length; l++) {
      var nin = s[l - 1], nout = s[l], next = new Array(nout);
      for (var j = 0; j < nout; j++) {
        var z = p[o + nin * nout + j];
        for (var i = 0; i < nin; i++) { z += a[i] * p[o + i * nout + j]; }
        next[j] = l < s.length - 1 ? act(z) : sigmoid(z);
        if (hidden && l < s.length - 1) { hidden.push(next[j]); }
      }
      o += nin * nout + nout; a = next;
    }
    return a[0];
  }
  function current() {
    var key = D.order.map(function (k) { return selects[k].value; }).join(',');
    return index[key];
  }
  function paint(img0, x0, y0, w, h) {
    var c = document.createElement('canvas'); c.width = img0.width; c.height = img0.height;
    c.getContext('2d').putImageData(img0, 0, 0);
    ctx.imageSmoothingEnabled = false; ctx.drawImage(c, x0, y0, w, h);
  }
  function colour(table, t, data, k) {
    var i = Math.max(0, Math.min(255, Math.round(t * 255)));
    data[k] = table[3 * i]; data[k + 1] = table[3 * i + 1]; data[k + 2] = table[3 * i + 2]; data[k + 3] = 255;
  }
  function drawMap(run, p, pts) {
    var R = 130, S = 260, x0 = 10, y0 = 24, im = ctx.createImageData(R, R), P = new Float32Array(R * R);
    for (var r = 0; r < R; r++) {
      for (var c = 0; c < R; c++) {
        var x = -B + (c + 0.5) * 2 * B / R, y = B - (r + 0.5) * 2 * B / R;
        P[r * R + c] = forward(run, p, x, y, null);
      }
    }
    for (var k = 0; k < R * R; k++) {
      var r2 = Math.floor(k / R), c2 = k % R, side = P[k] >= 0.5;
      var edge = (c2 + 1 < R && (P[k + 1] >= 0.5) !== side) || (r2 + 1 < R && (P[k + R] >= 0.5) !== side);
      if (edge) {
        im.data[4 * k] = 0; im.data[4 * k + 1] = 0; im.data[4 * k + 2] = 0; im.data[4 * k + 3] = 255;
      }
      else {
        colour(CLS, P[k], im.data, 4 * k);
        for (var ch = 0; ch < 3; ch++) {   // lightened, so that the points stand out
          im.data[4 * k + ch] = Math.round(0.7 * im.data[4 * k + ch] + 0.3 * 255);
        }
      }
    }
    paint(im, x0, y0, S, S);
    ctx.strokeStyle = '#333'; ctx.lineWidth = 1; ctx.strokeRect(x0, y0, S, S);
    function px(v) { return x0 + (v + B) / (2 * B) * S; }
    function py(v) { return y0 + (B - v) / (2 * B) * S; }
    [['train', true], ['test', false]].forEach(function (kind) {
      var xy = pts[kind[0]], lab = pts[kind[0] + '_y'];
      for (var i = 0; i < lab.length; i++) {
        var X = px(xy[2 * i]), Y = py(xy[2 * i + 1]);
        if (X < x0 || X > x0 + S || Y < y0 || Y > y0 + S) { continue; }
        ctx.beginPath(); ctx.arc(X, Y, 3, 0, 2 * Math.PI);
        if (kind[1]) {
          ctx.fillStyle = D.colours.cls[lab[i]]; ctx.fill(); ctx.strokeStyle = '#222'; ctx.lineWidth = 0.7;
        } else {
          ctx.fillStyle = '#fff'; ctx.fill(); ctx.strokeStyle = D.colours.cls[lab[i]]; ctx.lineWidth = 1.6;
        }
        ctx.stroke();
      }
    });
  }
  function curve(r, which) {
    var run = D.runs[r];
    return new Float32Array(buf, run.curves + 4 * which * (run.epochs + 1), run.epochs + 1);
  }
  function drawLoss(r, epoch) {
    var x0 = 320, y0 = 24, w = 200, h = 240, tr = curve(r, 0), te = curve(r, 1), E = tr.length - 1;
    var lo = Infinity, hi = -Infinity;
    [tr, te].forEach(function (c) {
      for (var i = 0; i < c.length; i++) {
        if (isFinite(c[i]) && c[i] > 0) { lo = Math.min(lo, c[i]); hi = Math.max(hi, c[i]); }
      }
    });
    lo = Math.pow(10, Math.floor(Math.log10(lo))); hi = Math.pow(10, Math.ceil(Math.log10(hi)));
    if (hi <= lo) { hi = lo * 10; }
    function X(e) { return x0 + e / D.snapshots[D.snapshots.length - 1] * w; }
    function Y(v) {
      return y0 + h - (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) * h;
    }
    ctx.strokeStyle = '#333'; ctx.lineWidth = 1; ctx.strokeRect(x0, y0, w, h);
    ctx.fillStyle = '#000'; ctx.font = '11px sans-serif'; ctx.textAlign = 'right';
    for (var d = lo; d <= hi * 1.0001; d *= 10) { ctx.fillText(String(+d.toPrecision(1)), x0 - 3, Y(d) + 4); }
    ctx.textAlign = 'center'; ctx.fillText(T.axis_epoch, x0 + w / 2, y0 + h + 28);
    ctx.fillText('0', x0, y0 + h + 14);
    ctx.fillText(String(D.snapshots[D.snapshots.length - 1]), x0 + w, y0 + h + 14);
    [[tr, '#000', []], [te, '#7b3fa0', [5, 3]]].forEach(function (c) {
      ctx.strokeStyle = c[1]; ctx.setLineDash(c[2]); ctx.lineWidth = 1.5; ctx.beginPath();
      var started = false;
      for (var e = 0; e <= Math.min(E, epoch); e++) {
        if (!isFinite(c[0][e]) || c[0][e] <= 0) { continue; }
        if (started) { ctx.lineTo(X(e), Y(c[0][e])); } else { ctx.moveTo(X(e), Y(c[0][e])); started = true; }
      }
      ctx.stroke(); ctx.setLineDash([]);
    });
    ctx.strokeStyle = '#999'; ctx.lineWidth = 1; ctx.beginPath();
    ctx.moveTo(X(epoch), y0); ctx.lineTo(X(epoch), y0 + h); ctx.stroke();
  }
  function drawUnits(run, p) {
    var x0 = 560, y0 = 24, R = 20, T = 26, gap = 2, s = run.sizes, hidden = s.slice(1, -1);
    var maps = [], total = 0;
    hidden.forEach(function (n) { total += n; });
    for (var u = 0; u < total; u++) { maps.push(new Float32Array(R * R)); }
    for (var r = 0; r < R; r++) {
      for (var c = 0; c < R; c++) {
        var hv = []; forward(run, p, -B + (c + 0.5) * 2 * B / R, B - (r + 0.5) * 2 * B / R, hv);
        for (var u2 = 0; u2 < total; u2++) { maps[u2][r * R + c] = hv[u2]; }
      }
    }
    var u3 = 0, y = y0;
    ctx.fillStyle = '#000'; ctx.font = '11px sans-serif'; ctx.textAlign = 'left';
    hidden.forEach(function (n, l) {
      ctx.fillText(say('layer', {k: l + 1}), x0, y + 10); y += 14;
      for (var k = 0; k < n; k++, u3++) {
        var m = maps[u3], top = 0, im = ctx.createImageData(R, R);
        for (var i = 0; i < m.length; i++) { top = Math.max(top, Math.abs(m[i])); }
        for (var i2 = 0; i2 < m.length; i2++) {
          colour(SGN, top > 0 ? 0.5 + 0.5 * m[i2] / top : 0.5, im.data, 4 * i2);
        }
        var col = k % 8, row = Math.floor(k / 8);
        paint(im, x0 + col * (T + gap), y + row * (T + gap), T, T);
      }
      y += Math.ceil(n / 8) * (T + gap) + 6;
    });
  }
  function fmt(v, d) { return isFinite(v) ? v.toFixed(d) : 'n/a'; }
  function sig(v) { return isFinite(v) ? String(+v.toPrecision(3)) : 'n/a'; }
  var sel = ['dataset', 'hidden', 'lr', 'l2'];
  function draw() {
    var r = current(), run = D.runs[r], f = +slider.value, epoch = D.snapshots[f];
    var shown = Math.min(epoch, run.epochs), p = params(r, f);
    var ds = D.choices.dataset[+selects.dataset.value][1];
    ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, W, H);
    ctx.fillStyle = '#000'; ctx.font = 'bold 12px sans-serif'; ctx.textAlign = 'left';
    ctx.fillText(T.title_map, 10, 15);
    ctx.fillText(T.title_loss, 320, 15); ctx.fillText(T.title_units, 560, 15);
    drawMap(run, p, D.points[ds]); drawLoss(r, shown); drawUnits(run, p);
    img.src = canvas.toDataURL('image/png');
    var names = sel.map(function (k) { return label(D.choices[k][+selects[k].value][0]); });
    img.alt = say('alt', {hidden: names[1], dataset: names[0], lr: names[2], l2: names[3], epoch: epoch});
    out.textContent = String(epoch);
    slider.setAttribute('aria-valuetext', say('epoch_value', {epoch: epoch}));
    var c = [curve(r, 0)[shown], curve(r, 1)[shown], curve(r, 2)[shown], curve(r, 3)[shown]];
    status.textContent = say('status', {epoch: epoch, last: D.snapshots[D.snapshots.length - 1],
      train_loss: sig(c[0]), test_loss: sig(c[1]), train_accuracy: fmt(100 * c[2], 1),
      test_accuracy: fmt(100 * c[3], 1)}) +
      (run.stopped !== null && epoch > run.stopped ? say('stopped', {epoch: run.stopped}) : '');
    chall.innerHTML = '';
    run.verdicts.forEach(function (v, k) {
      var li = document.createElement('li');
      li.textContent = say(v[0] ? 'met' : 'not_met', {k: k + 1, why: say(v[1], v[2])});
      chall.appendChild(li);
    });
  }
  var timer = null;
  // While it plays, the status changes four times a second: screen readers hear it once, at the stop.
  function stop() {
    var playing = timer !== null;
    if (timer) { clearInterval(timer); timer = null; }
    play.textContent = T.play; status.setAttribute('aria-live', 'polite');
    if (playing) { draw(); }
  }
  play.addEventListener('click', function () {
    if (timer) { stop(); return; }
    if (+slider.value >= +slider.max) { slider.value = 0; draw(); }
    status.setAttribute('aria-live', 'off');
    play.textContent = T.pause;
    timer = setInterval(function () {
      if (+slider.value >= +slider.max) { stop(); return; }
      slider.value = +slider.value + 1; draw();
    }, 250);
  });
  slider.addEventListener('input', draw);
  Object.keys(selects).forEach(function (k) { selects[k].addEventListener('change', draw); });
  // For the tests: the network's P(class 1) at (x, y) for run r at snapshot f, as drawn.
  root.nnplay = {probability: function (r, f, x, y) { return forward(D.runs[r], params(r, f), x, y, null); },
                 current: current, draw: draw, say: say};
  draw();
})();
"""


# --------------------------------------------------------------------------- the live playground
def _boundary(P: np.ndarray) -> np.ndarray:
    """1.0 on the cells where P >= 0.5 changes across a neighbour (the decision boundary), else NaN."""
    side = P >= 0.5
    edge = np.zeros_like(side)
    edge[:, :-1] |= side[:, :-1] != side[:, 1:]
    edge[:-1, :] |= side[:-1, :] != side[1:, :]
    return np.where(edge, 1.0, np.nan)


class LiveFigure:
    """The live figure of a :class:`Run`: P(class 1) over the plane with the data and the decision
    boundary, the loss curves, and a small map per hidden unit. Built once per network;
    :meth:`update` changes the artists' data in place (``set_data``), :meth:`png` renders it.
    Chapter 4's views ({ref}`sec-representations`) put in motion (the page {ref}`sec-playground`).
    """

    def __init__(self, run: Run, res: int = 96, unit_res: int = 24) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.ticker import FormatStrFormatter

        from . import viz

        self.run, self.res, self.unit_res = run, res, unit_res
        W, H = 11.5, 3.6                          # inches; axes placed by hand, so that a redraw
        fig = Figure(figsize=(W, H), dpi=72)      # costs no layout computation
        FigureCanvasAgg(fig)
        side = 0.80 * H / W                       # a square of 80 % of the height, as a width fraction
        ax = fig.add_axes((0.015, 0.06, side, 0.80))
        ext = (-BOX, BOX, -BOX, BOX)
        P = run.probability(res)
        self.map = ax.imshow(P, origin="lower", extent=ext, cmap=viz.CLASS_CMAP, vmin=0, vmax=1, alpha=0.75,
                             interpolation="bilinear")
        self.edge = ax.imshow(_boundary(P), origin="lower", extent=ext, cmap="gray_r", vmin=0, vmax=1,
                              interpolation="nearest")
        colours = np.array(viz.CLASS_COLOURS)
        ax.scatter(*run.X_train.T, c=colours[run.y_train.ravel().astype(int)], s=16, edgecolors="0.15",
                   linewidths=0.5)
        ax.scatter(*run.X_test.T, facecolors="white", edgecolors=colours[run.y_test.ravel().astype(int)],
                   s=16, linewidths=1.2)
        ax.set_xlim(-BOX, BOX)
        ax.set_ylim(-BOX, BOX)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title("P(class 1); black line: P = 0.5", fontsize=10)
        handles = [Line2D([], [], ls="", marker="o", color=c, markeredgecolor="0.15", label=f"class {k}")
                   for k, c in enumerate(viz.CLASS_COLOURS)]
        handles.append(Line2D([], [], ls="", marker="o", markerfacecolor="white", markeredgecolor="0.3",
                              label="test point"))
        ax.legend(handles=handles, loc="lower left", fontsize=7, framealpha=0.8)
        fig.colorbar(self.map, cax=fig.add_axes((0.02 + side, 0.06, 0.01, 0.80)), label="P(class 1)")
        self.ax_loss = ax2 = fig.add_axes((0.385, 0.16, 0.235, 0.70))
        (self.train_line,) = ax2.plot([], [], color="black", lw=1.5, label="training")
        (self.test_line,) = ax2.plot([], [], color="#7b3fa0", lw=1.5, ls="--", label="test")
        ax2.set_yscale("log")
        ax2.yaxis.set_major_formatter(FormatStrFormatter("%.2g"))
        ax2.yaxis.set_minor_formatter(FormatStrFormatter("%.2g"))
        ax2.tick_params(axis="y", which="both", labelsize=8)
        ax2.set_xlabel("epoch")
        ax2.set_title("loss (binary cross-entropy)", fontsize=10)
        ax2.legend(fontsize=8, loc="upper right")
        self.units = []
        n_units = min(sum(run.settings.hidden), MAX_UNIT_MAPS)
        cols = 8
        tile = min(0.027, 0.30 / cols)            # width fraction; height scaled to keep squares
        tile_h = tile * W / H
        fig.text(0.66, 0.90, "what each hidden unit computes", fontsize=10)
        for k, m in enumerate(run.unit_maps(unit_res)):
            r, c = divmod(k, cols)
            a = fig.add_axes((0.66 + c * tile * 1.1, 0.80 - (r + 1) * tile_h * 1.1, tile, tile_h))
            self.units.append(a.imshow(m, origin="lower", extent=ext, cmap=viz.SIGN_CMAP, vmin=-1, vmax=1,
                                       interpolation="bilinear"))
            a.set_xticks([])
            a.set_yticks([])
        if self.units:
            rows = -(-n_units // cols)
            bottom = 0.80 - rows * tile_h * 1.1
            fig.colorbar(self.units[0], cax=fig.add_axes((0.66 + cols * tile * 1.1 + 0.01, max(bottom, 0.06),
                                                          0.008, 0.80 - max(bottom, 0.06))),
                         label="activation / its max |value|")
        self.fig = fig
        self.update()

    def update(self) -> None:
        """Set every artist to the run's current state (no new artists) (page {ref}`sec-playground`)."""
        run = self.run
        P = run.probability(self.res)
        self.map.set_data(P)
        self.edge.set_data(_boundary(P))
        epochs = np.arange(run.epoch + 1)
        self.train_line.set_data(epochs, run.train_loss)
        self.test_line.set_data(epochs, run.test_loss)
        losses = np.array(run.train_loss + run.test_loss)
        losses = losses[np.isfinite(losses) & (losses > 0)]
        self.ax_loss.set_xlim(0, max(10, run.epoch))
        if losses.size:
            self.ax_loss.set_ylim(losses.min() / 1.3, losses.max() * 1.3)
        for image, m in zip(self.units, run.unit_maps(self.unit_res)):
            image.set_data(m)

    def png(self) -> bytes:
        """The figure as PNG bytes (page {ref}`sec-playground`)."""
        buf = io.BytesIO()
        self.fig.savefig(buf, format="png", metadata={"Software": None})
        return buf.getvalue()


#: The live playground's range of points (its slider) and largest seed (its box).
LIVE_N = (8, 2000)
LIVE_MAX_SEED = 2**31 - 1


def _check_live(settings: Settings) -> Settings:
    """The settings, if the live controls can show them; else a ValueError saying which cannot."""
    if not isinstance(settings, Settings):
        raise TypeError(f"settings must be a playground.Settings, got {type(settings).__name__}")
    if len(set(settings.hidden)) != 1:
        raise ValueError(f"the live playground's controls give every hidden layer the same width, got "
                         f"hidden={settings.hidden!r}; use equal widths, or train a playground.Run")
    if not LIVE_N[0] <= settings.n <= LIVE_N[1]:
        raise ValueError(f"the live playground takes {LIVE_N[0]} to {LIVE_N[1]} points, got n={settings.n}")
    if settings.seed > LIVE_MAX_SEED:
        raise ValueError(f"the live playground takes seeds up to {LIVE_MAX_SEED}, got {settings.seed}")
    if settings.lr < 1e-4:
        raise ValueError(f"the live playground's learning rate goes from 1e-4 to 10, got {settings.lr:g}")
    return settings


#: The live playground's words (control labels, buttons, status line, the image's text alternative),
#: by language. The language is the caption's (:func:`nnlib.viz.caption_language`), as for
#: ``viz.explore``: the Chinese edition's notebook passes a Chinese ``caption=`` (tools/i18n.py
#: translates it from locales/zh_CN/LC_MESSAGES/code-strings.po), and its widget speaks Chinese.
#: Terms from shared/glossary-zh.md; the figure's own text stays English symbols and terms.
LIVE_TEXT: dict[str, dict[str, str]] = {"en": {
    "caption": "Live training: decision map with the data, loss curves and each hidden unit's map, "
               "redrawn as the network trains",
    "dataset": "data set", "noise": "noise", "n": "points", "layers": "hidden layers",
    "width": "units per layer", "activation": "activation", "lr": "learning rate",
    "batch_size": "batch size", "optimizer": "optimiser", "l2": "L2", "dropout": "dropout", "seed": "seed",
    "epochs_per_frame": "epochs per frame",
    "start": "Start", "pause": "Pause", "step": "Step 1 epoch", "reset": "Reset",
    "xor": "XOR", "circles": "circles", "moons": "moons", "spirals": "spirals",
    "status": "{architecture} {activation} network on {dataset}, {optimizer} lr={lr}, batch {batch}, "
              "L2 {l2}, dropout {dropout} | epoch {epoch}: training loss {train_loss}, test loss "
              "{test_loss}; accuracy {train_accuracy} (training), {test_accuracy} (test)",
    "stopped": " | stopped: the loss became NaN or inf (lower the learning rate, then reset)",
}, "zh": {
    "caption": "实时训练：数据与决策区域、损失曲线和每个隐藏单元的图，随网络训练不断重绘",
    "dataset": "数据集", "noise": "噪声", "n": "点数", "layers": "隐藏层数", "width": "每层单元数",
    "activation": "激活函数", "lr": "学习率", "batch_size": "批量大小", "optimizer": "优化器", "l2": "L2",
    "dropout": "暂退概率", "seed": "随机种子", "epochs_per_frame": "每帧迭代周期数",
    "start": "开始", "pause": "暂停", "step": "训练 1 个迭代周期", "reset": "重置",
    "xor": "XOR", "circles": "同心圆", "moons": "双月", "spirals": "双螺旋",
    "status": "{architecture} {activation} 网络，{dataset}数据，{optimizer} 学习率 {lr}，批量大小 {batch}，"
              "L2 {l2}，暂退概率 {dropout} | 迭代周期 {epoch}：训练损失 {train_loss}，测试损失 "
              "{test_loss}；准确率 {train_accuracy}（训练），{test_accuracy}（测试）",
    "stopped": " | 已停止：损失变为 NaN 或 inf（请调低学习率，然后重置）",
}}
#: The controls whose label is a :data:`LIVE_TEXT` entry, and the buttons.
_CONTROLS = ("dataset", "noise", "n", "layers", "width", "activation", "lr", "batch_size", "optimizer", "l2",
             "dropout", "seed", "epochs_per_frame")
_BUTTONS = ("start", "pause", "step", "reset")


def _status(run: Run, lang: str = "en") -> str:
    s, words = run.settings, LIVE_TEXT[lang]
    text = words["status"].format(
        architecture=s.architecture, activation=s.activation, dataset=words[s.dataset],
        optimizer=s.optimizer, lr=f"{s.lr:g}", batch=s.batch_size, l2=f"{s.l2:g}", dropout=f"{s.dropout:g}",
        epoch=run.epoch, train_loss=f"{run.train_loss[-1]:.3g}", test_loss=f"{run.test_loss[-1]:.3g}",
        train_accuracy=f"{run.train_accuracy[-1]:.1%}", test_accuracy=f"{run.test_accuracy[-1]:.1%}")
    if run.diverged:
        text += words["stopped"]
    return text


def _relabel_status(text: str, source: str, target: str) -> str:
    """A status line of :func:`_status` in language ``source``, as it reads in ``target`` (the same
    numbers; a text that is not such a status line comes back unchanged)."""
    a, b = LIVE_TEXT[source], LIVE_TEXT[target]
    parts = re.split(r"\{(\w+)\}", a["status"])
    pattern = "".join(re.escape(p) if k % 2 == 0 else f"(?P<{p}>.*?)" for k, p in enumerate(parts))
    for suffix in (a["stopped"], ""):
        m = re.fullmatch(pattern + re.escape(suffix), text)
        if m:
            fields = m.groupdict()
            key = next((d for d in DATASETS if a[d] == fields["dataset"]), None)
            if key is None:
                return text
            fields["dataset"] = b[key]
            return b["status"].format(**fields) + (b["stopped"] if suffix else "")
    return text


def relabel_widget_state(state: dict[str, Any], old: str, new: str) -> int:
    """Change, in place, a notebook's saved ipywidgets state (``metadata.widgets[...]["state"]``)
    from live playgrounds captioned in ``old``'s language to ``new``'s (:data:`LIVE_TEXT`: control
    labels, buttons, data set names, the status line; the image's tooltip when it is ``old``), as a
    run with caption ``new`` saves it: how tools/i18n.py gives the Chinese notebook the widget a run
    of its own code shows (the page {ref}`sec-playground`). Returns the number of values changed."""
    from .viz import caption_language

    lo, ln = caption_language(old), caption_language(new)
    a, b = LIVE_TEXT[lo], LIVE_TEXT[ln]
    back = {a[k]: b[k] for k in (*_CONTROLS, *_BUTTONS)}
    changed = 0

    def walk(model_id: str) -> Iterator[dict[str, Any]]:
        model = state.get(model_id)
        if model is None:
            return
        yield model
        for child in model.get("state", {}).get("children", []):
            yield from walk(child.removeprefix("IPY_MODEL_"))

    roots = [k for k, m in state.items() if "nnplay-live" in m.get("state", {}).get("_dom_classes", [])]
    for root in roots:
        for model in walk(root):
            st, name = model.get("state", {}), model.get("model_name")
            if name == "ImageModel" and st.get("tooltip") == old:
                st["tooltip"] = new
                changed += 1
            if lo == ln:
                continue
            if isinstance(st.get("description"), str) and st["description"] in back:
                st["description"] = back[st["description"]]
                changed += 1
            if name == "DropdownModel" and list(st.get("_options_labels") or []) == [a[d] for d in DATASETS]:
                st["_options_labels"] = [b[d] for d in DATASETS]
                changed += 1
            if name == "HTMLModel" and isinstance(st.get("value"), str) and st["value"]:
                value = html.escape(_relabel_status(html.unescape(st["value"]), lo, ln))
                changed += value != st["value"]
                st["value"] = value
    return changed


class Playground:
    """The live playground for a Jupyter kernel: choose, train, watch (the page {ref}`sec-playground`).

    Controls: data set, its noise and size, hidden layers and their width, activation, learning
    rate, batch size, optimiser, L2, dropout, seed, and epochs per frame; buttons Start, Pause, Step (one
    epoch) and Reset. Training runs as an asyncio task on the kernel's event loop, one epoch at a
    time (:meth:`Run.train`), handing the loop back after each; the figure is updated in place
    after ``epochs_per_frame`` epochs or :data:`FRAME_BUDGET` seconds of training, whichever comes
    first, so the kernel stays responsive (the buttons act within about one epoch). The controls
    cover every :class:`Settings` but one: every hidden layer has the same width (a ValueError
    says so). Changing the
    learning rate, batch size, optimiser or L2 takes effect at the next chunk; any other control
    starts a new network (a new :class:`Run`). The same chunks from the same settings give the
    same network: everything is seeded by ``seed``. ``caption`` is the live image's text
    alternative (its tooltip); the widget's words (labels, buttons, status line) are in the
    caption's language (:data:`LIVE_TEXT`), so the Chinese edition's notebook, whose caption is
    Chinese, gets a Chinese widget.
    """

    def __init__(self, settings: Settings | None = None, *, epochs_per_frame: int = 5,
                 max_epochs: int = 5000, caption: str = "") -> None:
        from .viz import caption_language

        self.settings = _check_live(settings or Settings())
        if not isinstance(caption, str):
            raise TypeError(f"caption must be a str (the live image's text alternative), got "
                            f"{type(caption).__name__}")
        #: The live image's text alternative; its language is the widget's (:data:`LIVE_TEXT`).
        self.caption = caption or LIVE_TEXT["en"]["caption"]
        self.lang = caption_language(self.caption)
        self.epochs_per_frame = check_int(epochs_per_frame, "epochs_per_frame")
        self.max_epochs = check_int(max_epochs, "max_epochs")
        self.run = Run(self.settings)
        self._task: asyncio.Task | None = None
        self._running = False
        self._figure: LiveFigure | None = None
        self._ui: dict[str, Any] | None = None
        #: Seconds taken by the last frames (training chunk + redraw), newest last.
        self.frame_seconds: list[float] = []

    # ----------------------------------------------------------------- control
    @property
    def running(self) -> bool:
        """True while the training task runs (page {ref}`sec-playground`)."""
        return self._task is not None and not self._task.done()

    def step(self, epochs: int = 1) -> None:
        """Train ``epochs`` epochs now (one chunk) and redraw (page {ref}`sec-playground`)."""
        self.run.train(epochs)
        self.refresh()

    def start(self) -> None:
        """Start training in the background (an asyncio task on the running event loop, e.g. the
        Jupyter kernel's); it runs until :meth:`pause`, divergence or ``max_epochs``
        (page {ref}`sec-playground`)."""
        if self.running:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError("start() trains on a Jupyter kernel's running event loop, and there is "
                               "none here; in a script use step() or Run.train()") from None
        self._running = True
        self._task = loop.create_task(self._train_loop())
        self._sync_buttons()

    async def _train_loop(self) -> None:
        try:
            while self._running and self.run.epoch < self.max_epochs and not self.run.diverged:
                t0 = time.perf_counter()
                target = min(self.run.epoch + self.epochs_per_frame, self.max_epochs)
                # One epoch at a time, handing the loop back after each, and at most FRAME_BUDGET
                # seconds of training per frame: Pause and Reset act within about one epoch even
                # when a frame's epochs are long (batch 1 on 1000 points).
                while self._running and self.run.epoch < target and not self.run.diverged:
                    self.run.train(1)
                    await asyncio.sleep(0)
                    if time.perf_counter() - t0 > FRAME_BUDGET:
                        break
                if not self._running:
                    break
                self.refresh()
                self.frame_seconds = (self.frame_seconds + [time.perf_counter() - t0])[-50:]
                await asyncio.sleep(0.02)      # let the kernel handle clicks between frames
        finally:
            self._running = False
            self._sync_buttons()

    def pause(self) -> None:
        """Stop training after the current epoch (page {ref}`sec-playground`)."""
        self._running = False

    def close(self) -> None:
        """Stop the task at once (cancel it) and release the figure (page {ref}`sec-playground`)."""
        self._running = False
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._figure = None

    def reset(self, settings: Settings | None = None) -> None:
        """Stop, then start over with a new network from ``settings`` (default: the current
        ones; page {ref}`sec-playground`)."""
        self.close()
        self.settings = _check_live(settings or self.settings)
        self.run = Run(self.settings)
        self.refresh()

    # ----------------------------------------------------------------- display
    def figure(self) -> LiveFigure:
        """The live figure, built for the current network on first use (page {ref}`sec-playground`)."""
        if self._figure is None or self._figure.run is not self.run:
            self._figure = LiveFigure(self.run)
        return self._figure

    def refresh(self) -> None:
        """Update the figure's artists and the status line to the current epoch
        (page {ref}`sec-playground`)."""
        if self._ui is None:
            return
        fig = self.figure()
        fig.update()
        self._ui["image"].value = fig.png()
        self._ui["status"].value = html.escape(_status(self.run, self.lang))

    def _sync_buttons(self) -> None:
        if self._ui is None:
            return
        busy = self._running
        self._ui["start"].disabled = busy or bool(self.run.diverged)
        self._ui["step"].disabled = busy or bool(self.run.diverged)
        self._ui["pause"].disabled = not busy

    def widget(self) -> Any:
        """The ipywidgets interface (page {ref}`sec-playground`)."""
        import ipywidgets as W
        import traitlets

        if self._ui is not None:
            return self._ui["box"]
        t = LIVE_TEXT[self.lang]
        s = self.settings
        style = {"description_width": "initial"}
        lay = W.Layout(width="230px")
        c = {
            "dataset": W.Dropdown(options=[(t[d], d) for d in DATASETS], value=s.dataset,
                                  description=t["dataset"], style=style, layout=lay),
            "noise": W.FloatSlider(value=s.noise, min=0.0, max=1.0, step=0.01, description=t["noise"],
                                   style=style, layout=lay, continuous_update=False),
            "n": W.IntSlider(value=s.n, min=LIVE_N[0], max=LIVE_N[1], step=20, description=t["n"],
                             style=style, layout=lay, continuous_update=False),
            "layers": W.IntSlider(value=len(s.hidden), min=1, max=4, description=t["layers"],
                                  style=style, layout=lay, continuous_update=False),
            "width": W.IntSlider(value=s.hidden[0], min=1, max=64, description=t["width"],
                                 style=style, layout=lay, continuous_update=False),
            "activation": W.Dropdown(options=list(ACTIVATIONS), value=s.activation,
                                     description=t["activation"], style=style, layout=lay),
            "lr": W.FloatLogSlider(value=s.lr, base=10, min=-4, max=1, step=0.1, description=t["lr"],
                                   style=style, layout=lay, continuous_update=False, readout_format=".4f"),
            "batch_size": W.Dropdown(options=sorted({1, 5, 10, 20, 50, 100, 1000, s.batch_size}),
                                     value=s.batch_size, description=t["batch_size"], style=style,
                                     layout=lay),
            "optimizer": W.Dropdown(options=list(OPTIMIZERS), value=s.optimizer, description=t["optimizer"],
                                    style=style, layout=lay),
            "l2": W.Dropdown(options=sorted({0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, s.l2}), value=s.l2,
                             description=t["l2"], style=style, layout=lay),
            "dropout": W.FloatSlider(value=s.dropout, min=0.0, max=0.9, step=0.05, description=t["dropout"],
                                     style=style, layout=lay, continuous_update=False),
            "seed": W.BoundedIntText(value=s.seed, min=0, max=LIVE_MAX_SEED, description=t["seed"],
                                     style=style, layout=lay),
            "epochs_per_frame": W.IntSlider(value=self.epochs_per_frame, min=1, max=50,
                                            description=t["epochs_per_frame"], style=style, layout=lay),
        }
        buttons = {name: W.Button(description=t[name], layout=W.Layout(width="90px")) for name in _BUTTONS}
        buttons["step"].layout.width = "140px" if self.lang == "zh" else "110px"
        status = W.HTML(value="")

        class DescribedImage(W.Image):
            # as in nnlib.viz: ipywidgets puts ``tooltip`` in the <img>'s title (its accessible
            # name) only when ``description`` is empty, and Image has none
            description = traitlets.Unicode("").tag(sync=True)

        image = DescribedImage(format="png", tooltip=self.caption)
        self._ui = {**c, **buttons, "status": status, "image": image}

        def on_change(change: dict[str, Any]) -> None:
            self._control_changed(change["owner"])

        for w in c.values():
            w.observe(on_change, names="value")
        buttons["start"].on_click(lambda _b: self.start())
        buttons["pause"].on_click(lambda _b: self.pause())
        buttons["step"].on_click(lambda _b: self.step(1))
        buttons["reset"].on_click(lambda _b: self._reset_from_controls())
        grid = W.GridBox(list(c.values()), layout=W.Layout(grid_template_columns="repeat(4, 240px)"))
        box = W.VBox([grid, W.HBox(list(buttons.values())), status, image])
        box.add_class("nnplay-live")            # found by relabel_widget_state in a saved notebook
        self._ui["box"] = box
        self.refresh()
        self._sync_buttons()
        return box

    def _reset_from_controls(self) -> None:
        self.reset(self.settings)          # the settings follow every control as it changes
        self._sync_buttons()

    def _control_changed(self, owner: Any) -> None:
        u = self._ui
        if owner is u["epochs_per_frame"]:
            self.epochs_per_frame = owner.value
            return
        # Only the control that moved changes its setting: the others keep their exact values
        # (no round trip through the sliders' steps and readouts).
        name = next(k for k, w in u.items() if w is owner)
        value = owner.value
        if name in ("layers", "width"):
            name, value = "hidden", (u["width"].value,) * u["layers"].value
        elif name in ("noise", "dropout"):
            value = round(value, 4)
        elif name == "lr":
            value = float(f"{value:.3g}")
        new = replace(self.settings, **{name: value})
        keep = {"lr", "batch_size", "optimizer", "l2"}
        if name in keep:
            self.settings = new
            self.run.update(**{name: value})
            self._ui["status"].value = html.escape(_status(self.run, self.lang))
        else:
            self.reset(new)
            self._sync_buttons()

    def __repr__(self) -> str:
        return f"Playground({self.run!r})"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        # The widget, and plain text where there are no widgets; what the website shows instead is
        # said in the page's prose (a markdown cell), not here.
        bundle: dict[str, Any] = {"text/plain": repr(self)}
        try:
            live = self.widget()._repr_mimebundle_(include=include, exclude=exclude)
        except Exception:  # no ipywidgets or no kernel: the text says what the playground holds
            live = None
        if live:
            bundle.update({k: v for k, v in live.items() if k != "text/plain"})
        return bundle
