"""The playground (nnlib.playground, chapters/playground.ipynb): data, runs, challenges, the live UI,
the static player, and the built page in headless Chromium.

The browser tests need the built site (`make book`), Debian's Chromium and axe-core, like
tests/test_site.py: under `make test` (NN_SITE_REQUIRED=1) a missing one fails them; run alone
with pytest they are skipped with the reason.
"""
from __future__ import annotations

import asyncio
import base64
import inspect
import json
import math
import re
import time
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from site_helpers import (
    AXE_JS,
    CHROMIUM,
    CHROMIUM_ARGS,
    SITE,
    SiteServer,
    fail_or_skip,
    is_local,
    missing_prerequisites,
    site_required,
)

from nnlib import MLP, datasets, playground
from nnlib.playground import Run, Settings

SMALL = Settings(dataset="moons", n=60, noise=0.1, hidden=(4,), lr=0.03, batch_size=8)


# --------------------------------------------------------------------------- data
def test_noisy_xor_is_the_sign_rule_balanced_and_seeded():
    X, y = datasets.noisy_xor(101, 0.0, seed=3)
    assert X.shape == (101, 2) and y.shape == (101, 1)
    assert np.bincount(y.ravel().astype(int)).tolist() == [51, 50]
    assert np.array_equal(y.ravel() == 1, X[:, 0] * X[:, 1] < 0)
    assert np.all(np.abs(X) >= 0.1) and np.all(np.abs(X) <= 1.0)          # the margin along the axes
    for c, quadrants in ((0, {(1, 1), (-1, -1)}), (1, {(-1, 1), (1, -1)})):  # both quadrants used
        assert {tuple(q) for q in np.sign(X[y.ravel() == c]).astype(int)} == quadrants
    X2, y2 = datasets.noisy_xor(101, 0.0, seed=3)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    Xn, yn = datasets.noisy_xor(101, 0.3, seed=3)
    assert np.bincount(yn.ravel().astype(int)).tolist() == [51, 50]
    assert np.mean((Xn[:, 0] * Xn[:, 1] < 0) == (yn.ravel() == 1)) < 1    # noise moves points across
    with pytest.raises(ValueError, match="noise"):
        datasets.noisy_xor(10, -0.1)
    with pytest.raises(ValueError, match="n"):
        datasets.noisy_xor(1)


@pytest.mark.parametrize("name", playground.DATASETS)
def test_make_data_fits_the_view_without_noise(name):
    X, y = playground.make_data(name, 200, 0.0, seed=0)
    assert X.shape == (200, 2) and set(np.unique(y)) == {0.0, 1.0}
    assert np.all(np.abs(X) <= playground.BOX)


def test_make_data_and_settings_reject_bad_choices_with_a_clear_message():
    with pytest.raises(ValueError, match="unknown data set 'ring'.*'xor'"):
        playground.make_data("ring")
    bad = [({"dataset": "ring"}, "data set"), ({"noise": 2.0}, "noise must be between 0 and 1"),
           ({"noise": "low"}, "noise must be"), ({"noise": float("nan")}, "noise must be"),
           ({"hidden": 8}, "tuple of layer widths"), ({"hidden": ()}, "1 to 4 hidden layers"),
           ({"hidden": (0,)}, "1 to 64 units"), ({"activation": "softmax"}, "activation"),
           ({"lr": 0.0}, "lr"), ({"lr": 50.0}, "at most 10"), ({"batch_size": 0}, "batch_size"),
           ({"optimizer": "rmsprop"}, "optimizer"), ({"l2": -1.0}, "l2"), ({"seed": -1}, "seed"),
           ({"dropout": 1.0}, "dropout must be a rate between 0 and 0.9"), ({"dropout": True}, "dropout"),
           ({"n": 4}, "n")]
    for change, message in bad:
        with pytest.raises((ValueError, TypeError), match=message):
            replace(SMALL, **change)


def test_data_split_and_network_draw_from_independent_streams():
    """One seed gives three generators (SeedSequence.spawn), not one integer reused three times."""
    gens = playground.run_seeds(0)
    firsts = [g.random(4) for g in gens]
    assert not any(np.array_equal(a, b) for i, a in enumerate(firsts) for b in firsts[i + 1:])
    assert all(np.array_equal(a, g.random(4)) for a, g in zip(firsts, playground.run_seeds(0)))   # seeded
    run = Run(SMALL)
    data, split, net = playground.run_seeds(SMALL.seed)
    X, y = playground.make_data(SMALL.dataset, SMALL.n, SMALL.noise, seed=data)
    X_train, X_test, _, _ = datasets.train_test_split(X, y, playground.TEST_FRACTION, seed=split)
    assert np.array_equal(run.X_train, X_train) and np.array_equal(run.X_test, X_test)
    assert np.array_equal(run.net.params, MLP(SMALL.sizes, hidden="tanh", output="sigmoid", seed=net).params)
    # ... and not the streams of the integer itself
    same = playground.make_data(SMALL.dataset, SMALL.n, SMALL.noise, seed=SMALL.seed)[0]
    assert not np.array_equal(np.sort(X, axis=0), np.sort(same, axis=0))
    assert not np.array_equal(run.net.params, MLP(SMALL.sizes, seed=SMALL.seed).params)
    with pytest.raises(ValueError, match="seed"):
        playground.run_seeds(-1)


def test_settings_sizes_and_parameter_count():
    s = replace(SMALL, hidden=(8, 8))
    assert s.sizes == [2, 8, 8, 1] and s.architecture == "2-8-8-1"
    assert s.num_parameters() == (2 * 8 + 8) + (8 * 8 + 8) + (8 + 1)
    assert s.num_parameters() == MLP(s.sizes, seed=0).num_parameters()


# --------------------------------------------------------------------------- runs
@pytest.mark.parametrize("optimizer", list(playground.OPTIMIZERS))
def test_training_in_chunks_is_training_at_once(optimizer):
    s = replace(SMALL, optimizer=optimizer)
    once, chunks = Run(s), Run(s)
    once.train(6)
    for k in (1, 2, 3):
        chunks.train(k)
    assert np.array_equal(once.net.params, chunks.net.params)
    assert once.test_loss == chunks.test_loss and once.train_accuracy == chunks.train_accuracy
    assert once.epoch == chunks.epoch == 6
    curves = (once.train_loss, once.test_loss, once.train_accuracy, once.test_accuracy)
    assert all(len(c) == 7 for c in curves)
    if optimizer == "adam":                       # one Adam object for the whole run: its step count
        assert once.optimizer.t == chunks.optimizer.t == 6 * math.ceil(30 / 8)


def test_dropout_thins_training_only_and_chunks_still_add_up():
    s = replace(SMALL, hidden=(8, 8), dropout=0.3)
    once, chunks, plain = Run(s), Run(s), Run(replace(s, dropout=0.0))
    assert once.net.dropout == (0.3, 0.3) and plain.net.dropout == (0.0, 0.0)
    once.train(4)
    chunks.train(1)
    chunks.train(3)
    plain.train(4)
    assert np.array_equal(once.net.params, chunks.net.params)       # masks come from the seeded generator
    assert not np.array_equal(once.net.params, plain.net.params)    # and they change the training
    # the curves are the whole network's, without dropout (inverted dropout needs no rescaling)
    assert once.test_loss[-1] == once.net.loss(once.X_test, once.y_test, loss="bce")


def test_curves_are_the_loss_and_accuracy_over_the_whole_sets():
    run = Run(SMALL)
    run.train(3)
    net = run.net
    assert run.train_loss[-1] == pytest.approx(net.loss(run.X_train, run.y_train, loss="bce"), rel=1e-12)
    assert run.test_loss[-1] == pytest.approx(net.loss(run.X_test, run.y_test, loss="bce"), rel=1e-12)
    p = net.forward(run.X_test)[:, 0]
    assert run.test_accuracy[-1] == np.mean((p >= 0.5) == (run.y_test[:, 0] == 1))
    assert len(run.X_train) == len(run.X_test) == 30                       # TEST_FRACTION = 0.5
    assert run.train_loss[-1] < run.train_loss[0]                           # it learns


def test_update_changes_how_it_learns_not_what_it_learns():
    run = Run(SMALL)
    run.train(2)
    opt = run.optimizer
    run.update(lr=0.01, l2=0.001, batch_size=4)
    assert run.optimizer is opt and opt.lr == 0.01 and opt.weight_decay == 0.001   # state kept
    run.update(optimizer="sgd")
    assert isinstance(run.optimizer, playground.optim.SGD) and run.optimizer.lr == 0.01
    run.train(1)
    assert run.epoch == 3
    with pytest.raises(ValueError, match="make a new Run"):
        run.update(hidden=(8,))
    # a changed learning rate is used: two runs that differ only in it from epoch 2 on differ
    other = Run(SMALL)
    other.train(2)
    other.update(lr=0.01, l2=0.001, batch_size=4, optimizer="sgd")
    other.train(1)
    assert np.array_equal(other.net.params, run.net.params)
    third = Run(SMALL)
    third.train(2)
    third.update(lr=0.02, l2=0.001, batch_size=4, optimizer="sgd")
    third.train(1)
    assert not np.array_equal(third.net.params, run.net.params)


def test_a_non_finite_step_stops_the_run_and_restores_the_weights():
    run = Run(SMALL)
    run.train(1)
    before, curves = run.net.params.copy(), list(run.test_loss)
    step = run.optimizer.step

    def bad_step(grads):
        step(grads)
        run.net.params[0] = np.inf

    run.optimizer.step = bad_step
    run.train(3)
    assert run.diverged and "NaN or inf in epoch 2" in run.diverged
    assert "Lower the learning rate" in run.diverged
    assert np.array_equal(run.net.params, before) and run.test_loss == curves and run.epoch == 1
    run.optimizer.step = step
    run.train(1)                                                            # a stopped run stays stopped
    assert run.epoch == 1


def test_probability_grid_and_unit_maps():
    run = Run(replace(SMALL, hidden=(3, 2)))
    run.train(2)
    g = playground.grid_points(4)
    h = 2 * playground.BOX / 4
    assert np.allclose(g[0], [-playground.BOX + h / 2] * 2)                # bottom left first
    assert np.allclose(g[1], [-playground.BOX + 3 * h / 2, -playground.BOX + h / 2])  # along the row
    P = run.probability(4)
    assert np.array_equal(P.ravel(), run.net.forward(g)[:, 0])
    assert np.array_equal((P.ravel() >= 0.5).astype(int), run.net.predict(g))   # decision rule
    maps = run.unit_maps(5)
    assert len(maps) == 5 and all(m.shape == (5, 5) for m in maps)
    _, acts = run.net.forward_trace(playground.grid_points(5))
    raw = [acts[1][:, 0], acts[2][:, 1]]
    for m, a in zip([maps[0], maps[4]], raw):
        assert np.allclose(m.ravel(), a / np.abs(a).max()) and np.abs(m).max() == pytest.approx(1.0)
    wide = Run(replace(SMALL, hidden=(40,)))
    assert len(wide.unit_maps(3)) == playground.MAX_UNIT_MAPS


# --------------------------------------------------------------------------- challenges
def fake(train, test, **settings):
    return SimpleNamespace(train_loss=list(train), test_loss=list(test), settings=replace(SMALL, **settings))


def test_overfitting_criterion_at_its_boundary():
    assert playground.overfits(fake([1, 0.5, 0.25], [1, 0.5, 0.75]))             # 1.5 x the lowest
    assert not playground.overfits(fake([1, 0.5, 0.25], [1, 0.5, 0.74]))         # just below
    assert not playground.overfits(fake([1, 0.5, 0.5], [1, 0.4, 0.8]))           # training loss flat
    result = playground.overfits(fake([1, 0.5, 0.25], [1, 0.5, 0.75]))
    assert result.numbers == {"ratio": pytest.approx(1.5), "best_epoch": 1}
    assert "epoch 1" in result.message and "still falling" in result.message
    with pytest.raises(ValueError, match="not been trained"):
        playground.overfits(fake([1], [1]))


def test_fixing_needs_the_same_data_and_network_and_a_lower_test_loss():
    bad = fake([1, 0.5, 0.25], [1, 0.4, 0.8])
    assert playground.fixes(fake([1, 0.5, 0.4], [1, 0.5, 0.5], l2=0.01), bad)
    assert not playground.fixes(fake([1, 0.5, 0.4], [1, 0.9, 0.9], l2=0.01), bad)        # higher test loss
    assert not playground.fixes(fake([1, 0.5, 0.25], [1, 0.3, 0.7], l2=0.01), bad)       # still overfits
    other = playground.fixes(fake([1, 0.5, 0.4], [1, 0.5, 0.5], hidden=(9,)), bad)
    assert not other and "hidden (4,) -> (9,)" in other.message
    fine = fake([1, 0.5, 0.4], [1, 0.5, 0.5])
    assert "does not overfit" in playground.fixes(fine, fine).message


def test_check_challenge_in_jupyter():
    untrained = Run(replace(SMALL, dataset="spirals"))
    verdict = playground.check_challenge(1, untrained)
    assert not verdict and verdict.numbers["parameters"] == 17
    assert "1000 fresh spiral points" in verdict.message
    # a network that does separate the spirals passes: a 2-32-32-1 tanh network, as datasets.spirals says
    X, y = playground.make_data("spirals", 400, 0.05, seed=1)
    net = MLP([2, 32, 32, 1], hidden="tanh", output="sigmoid", seed=0)
    net.fit(X, y, loss="bce", optimizer="adam", lr=0.01, epochs=400, batch_size=20)
    good = playground.check_challenge(1, net)
    assert good and good.numbers["accuracy"] >= playground.SEPARATES
    assert repr(good).startswith("Challenge 1: met.")
    with pytest.raises(TypeError, match="2 inputs and one sigmoid output"):
        playground.check_challenge(1, MLP([2, 3, 2], output="softmax", seed=0))
    with pytest.raises(TypeError, match="checks a Run"):
        playground.check_challenge(2, net)
    with pytest.raises(ValueError, match="compares two runs"):
        playground.check_challenge(3, untrained)
    with pytest.raises(ValueError, match="challenges 1, 2 and 3"):
        playground.check_challenge(4, untrained)


# --------------------------------------------------------------------------- precomputed runs
SNAPS = (0, 1, 3)


@pytest.fixture(scope="module")
def small_grid():
    grid = [replace(SMALL, dataset=d, hidden=h, lr=lr, l2=l2) for d in ("xor", "moons")
            for h in ((2,), (4,)) for lr in (0.03,) for l2 in (0.0, 0.01)]
    return [playground.record(s, SNAPS) for s in grid]


def test_record_keeps_the_weights_at_the_snapshots():
    rec = playground.record(SMALL, SNAPS)
    run = Run(SMALL)
    assert np.array_equal(rec.params[0], run.net.params.astype(np.float32))
    run.train(3)
    assert np.array_equal(rec.params[2], run.net.params.astype(np.float32))
    assert rec.test_loss == run.test_loss and rec.stopped is None
    assert rec.final()["test_loss"] == run.test_loss[-1]
    for bad in [(1, 2), (0, 2, 2), ()]:
        with pytest.raises(ValueError, match="strictly increasing"):
            playground.record(SMALL, bad)


def test_verdicts_of_the_precomputed_runs(small_grid):
    verdicts = playground.challenge_verdicts(small_grid)
    for rec, (v1, v2, v3) in zip(small_grid, verdicts):
        assert not v1 and "not the spirals" in v1.message                 # no spirals in this grid
        assert v2.passed == playground.overfits(rec).passed
        if rec.settings.l2 == 0:
            assert not v3 and "no L2 here" in v3.message
        else:
            (twin,) = [r for r in small_grid if r.settings == replace(rec.settings, l2=0.0)]
            assert v3.passed == playground.fixes(rec, twin).passed
    spiral = playground.record(replace(SMALL, dataset="spirals"), SNAPS)
    (v1, _, _) = playground.challenge_verdicts([spiral])[0]
    assert v1.passed == (spiral.test_accuracy[-1] >= playground.SEPARATES) and "17 parameters" in v1.message


def decode(data, k):
    """The weights (snapshots x P) and the curves (4 x epochs+1) of run k, from the page's blob."""
    blob = base64.b64decode(data["blob"])
    run = data["runs"][k]
    params = np.frombuffer(blob, "<f4", len(data["snapshots"]) * run["nparams"], run["params"])
    curves = np.frombuffer(blob, "<f4", 4 * (run["epochs"] + 1), run["curves"])
    return params.reshape(len(data["snapshots"]), -1), curves.reshape(4, -1)


def test_gallery_data_holds_the_runs_exactly(small_grid):
    gallery = playground.Gallery(small_grid)
    data = gallery.data()
    assert len(data["runs"]) == 8 and data["snapshots"] == list(SNAPS)
    for key, k in data["index"]:
        rec = small_grid[k]
        s = rec.settings
        assert [data["choices"][a][i][1] for a, i in zip(data["order"], key)] == \
            [s.dataset, list(s.hidden), s.lr, s.l2]
        params, curves = decode(data, k)
        assert np.array_equal(params, rec.params)
        assert np.array_equal(curves, np.array([rec.train_loss, rec.test_loss, rec.train_accuracy,
                                                rec.test_accuracy], dtype=np.float32))
        assert data["runs"][k]["sizes"] == s.sizes
    run = Run(small_grid[0].settings)
    assert data["points"]["xor"]["train_y"] == run.y_train.ravel().astype(int).tolist()
    assert np.allclose(data["points"]["xor"]["test"], run.X_test.ravel(), atol=5e-4)
    page = gallery.to_html()
    assert 'class="nnviz-explore nnplay"' in page and 'aria-valuetext="epoch 3"' in page
    assert "<output>3</output>" in page
    assert page.count("<select") == 4 and page.count("<label") == 5 and 'alt="' in page
    assert json.loads(re.search(r'<script type="application/json">(.*?)</script>', page).group(1)) == \
        json.loads(json.dumps(data))
    # every verdict the page stores is its Python message, rebuilt from the text table
    for run, verdicts in zip(data["runs"], gallery.verdicts):
        assert [v[0] for v in run["verdicts"]] == [v.passed for v in verdicts]
        assert [playground._fill(v[1], v[2]) for v in run["verdicts"]] == [v.message for v in verdicts]


def test_gallery_json_cannot_end_its_script_element(small_grid, monkeypatch):
    gallery = playground.Gallery(small_grid)
    data = gallery.data()
    data["note"] = "</script><script>alert(1)</script> <!-- </SCRIPT >"
    monkeypatch.setattr(gallery, "data", lambda: data)
    page = gallery.to_html()
    (text,) = re.findall(r'<script type="application/json">(.*?)</script>', page, re.S)
    assert "<" not in text and json.loads(text) == json.loads(json.dumps(data))
    assert page.lower().count("</script>") == 2          # only the two script elements end


def test_player_words_come_from_its_text_table(small_grid):
    """Every word the script writes is a key of PLAYER_TEXT (the page's language chooses the table)."""
    en = playground.PLAYER_TEXT["en"]
    script = playground._SCRIPT
    used = set(re.findall(r"\bT\.(\w+)", script)) | set(re.findall(r"say\('(\w+)'", script))
    used |= {k for pair in re.findall(r"say\(v\[0\] \? '(\w+)' : '(\w+)'", script) for k in pair}
    page = playground.Gallery(small_grid).to_html()
    used |= set(re.findall(r'data-text="(\w+)"', page))
    used |= {v.template for vs in playground.challenge_verdicts(small_grid) for v in vs}
    assert used and used <= set(en), sorted(used - set(en))
    assert {"alt", "status", "met", "not_met", "play", "pause", "epoch_value"} <= used
    # no English sentence left in the script itself: its string literals are keys, CSS or code
    literals = re.findall(r"'([^'\n]*)'", script)
    assert not [t for t in literals if re.search(r"[a-z]+ [a-z]+ [a-z]+", t)], literals
    for lang, table in playground.PLAYER_TEXT.items():   # every language has every text, same fields
        assert set(table) == set(en), (lang, sorted(set(en) ^ set(table)))
        for key, text in table.items():
            assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", en[key])), (lang, key)
    for key, text in en.items():            # every {field} a template uses is one the script fills
        fields = set(re.findall(r"\{(\w+)\}", text))
        assert fields <= {"k", "why", "epoch", "last", "hidden", "dataset", "lr", "l2", "train_loss",
                          "test_loss", "train_accuracy", "test_accuracy", "architecture", "parameters",
                          "accuracy", "needs", "n", "best", "best_epoch", "end", "ratio", "train_best",
                          "train_end", "falling", "before", "after", "state", "diff"}, key


def test_gallery_needs_a_full_grid_of_comparable_runs(small_grid):
    with pytest.raises(ValueError, match="full grid"):
        playground.Gallery(small_grid[:-1])
    with pytest.raises(ValueError, match="same choices"):
        playground.Gallery(small_grid + small_grid[:1])
    odd = playground.record(replace(small_grid[-1].settings, batch_size=3), SNAPS)
    with pytest.raises(ValueError, match="differ only"):
        playground.Gallery(small_grid[:-1] + [odd])
    with pytest.raises(ValueError, match="at least one"):
        playground.Gallery([])
    # the player draws one set of points per data set: its runs must share noise and n
    for change in ({"noise": 0.2}, {"n": 40}):
        odd = playground.record(replace(small_grid[-1].settings, **change), SNAPS)
        with pytest.raises(ValueError, match="must share their data"):
            playground.Gallery(small_grid[:-1] + [odd])


@pytest.mark.parametrize(("lang", "expected"), [("zh-CN", "zh"), ("en", "en"), ("fr", "en"), ("", "en")])
def test_player_speaks_the_pages_language(small_grid, lang, expected):
    """The page's <html lang> chooses the table; a language without one gets English."""
    import os
    import shutil
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which(CHROMIUM)):
        if site_required():
            pytest.fail(f"no Chromium at {CHROMIUM}", pytrace=False)
        pytest.skip(f"needs Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    gallery = playground.Gallery(small_grid)
    table = playground.PLAYER_TEXT[expected]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        page.set_content(f'<!DOCTYPE html><html lang="{lang}"><body>{gallery.to_html()}</body></html>')
        shown = page.evaluate("""() => { const r = document.querySelector('.nnplay');
          return {label: r.querySelector('[data-text=dataset]').textContent,
                  play: r.querySelector('button').textContent,
                  status: r.querySelector('.nnplay-status').textContent, alt: r.querySelector('img').alt,
                  valuetext: r.querySelector('input[type=range]').getAttribute('aria-valuetext'),
                  challenges: Array.from(r.querySelectorAll('li')).map(li => li.textContent)}; }""")
        browser.close()
    assert shown["label"] == table["dataset"] and shown["play"] == table["play"]
    assert shown["valuetext"] == table["epoch_value"].format(epoch=SNAPS[-1])
    assert shown["status"].startswith(table["status"].split("{")[0])
    assert table["moons"] in shown["alt"] or table["xor"] in shown["alt"]
    k = gallery.index[(len(gallery.axes["dataset"]) - 1, len(gallery.axes["hidden"]) - 1,
                       len(gallery.axes["lr"]) // 2, 0)]
    assert shown["challenges"] == [
        table["met" if v.passed else "not_met"].format(
            k=i + 1, why=playground._fill(v.template, v.values, expected))
        for i, v in enumerate(gallery.verdicts[k])]


# --------------------------------------------------------------------------- the live playground
def test_live_figure_updates_its_artists_in_place():
    run = Run(replace(SMALL, hidden=(3, 3)))
    fig = playground.LiveFigure(run)
    artists = (fig.map, fig.edge, fig.train_line, fig.test_line, *fig.units)
    n_children = len(fig.fig.axes[0].get_children())
    before = fig.map.get_array().copy()
    assert len(fig.units) == 6 and fig.png()[:8] == b"\x89PNG\r\n\x1a\n"
    run.train(5)
    fig.update()
    assert (fig.map, fig.edge, fig.train_line, fig.test_line, *fig.units) == artists
    assert len(fig.fig.axes[0].get_children()) == n_children
    assert not np.array_equal(fig.map.get_array(), before)
    assert np.array_equal(fig.map.get_array(), run.probability(fig.res))
    assert list(fig.test_line.get_ydata()) == run.test_loss


def test_widget_buttons_and_controls():
    pytest.importorskip("ipywidgets", reason="the live playground needs ipywidgets (in requirements.txt)")
    live = playground.Playground(SMALL)
    ui = live.widget()
    assert live.widget() is ui and live._ui["image"].value[:4] == b"\x89PNG"
    assert "epoch 0" in live._ui["status"].value
    live._ui["step"].click()
    assert live.run.epoch == 1 and "epoch 1:" in live._ui["status"].value
    run = live.run
    live._ui["lr"].value = 0.01                 # how it learns: same run, from the next epoch
    assert live.run is run and live.run.optimizer.lr == 0.01 and live.run.epoch == 1
    live._ui["dataset"].value = "circles"       # what it learns: a new run
    assert live.run is not run and live.run.epoch == 0 and live.run.settings.dataset == "circles"
    assert live.settings.lr == 0.01
    run = live.run
    live._ui["dropout"].value = 0.25            # a network with dropout is a new network
    assert live.run is not run and live.run.net.dropout == (0.25,) and live.settings.dropout == 0.25
    live._ui["epochs_per_frame"].value = 7
    assert live.epochs_per_frame == 7 and live.run.epoch == 0
    live._ui["reset"].click()
    assert live.run.epoch == 0
    bundle = live._repr_mimebundle_()
    assert set(bundle) == {"application/vnd.jupyter.widget-view+json", "text/plain"}   # no prose in code
    assert bundle["text/plain"] == repr(live) and "circles" in bundle["text/plain"]


EDGES = [dict(hidden=(64, 64, 64, 64), noise=1.0, lr=10.0, dropout=0.9, n=2000, seed=2**31 - 1),
         dict(hidden=(1,), noise=0.0, lr=1e-4, n=8, batch_size=7, l2=0.05, optimizer="momentum"),
         dict(noise=0.123, lr=0.0314159, dropout=0.33, n=30, l2=2e-3, activation="relu")]


@pytest.mark.parametrize("changes", EDGES)
def test_live_controls_show_every_setting_they_accept(changes):
    pytest.importorskip("ipywidgets", reason="the live playground needs ipywidgets (in requirements.txt)")
    settings = replace(SMALL, **changes)
    live = playground.Playground(settings)
    live.widget()
    u = live._ui
    shown = {"dataset": u["dataset"].value, "n": u["n"].value, "noise": u["noise"].value,
             "hidden": (u["width"].value,) * u["layers"].value, "activation": u["activation"].value,
             "lr": u["lr"].value, "batch_size": u["batch_size"].value, "optimizer": u["optimizer"].value,
             "l2": u["l2"].value, "dropout": u["dropout"].value, "seed": u["seed"].value}
    assert Settings(**shown) == settings                  # no control clamps or rounds a setting
    run = live.run
    u["l2"].value = 0.0                                   # how it learns: same network, same data
    assert live.run is run and live.settings == replace(settings, l2=0.0)
    u["seed"].value = 5                                   # what it learns: only the seed changes
    assert live.run is not run and live.settings == replace(settings, l2=0.0, seed=5)


def test_live_playground_refuses_what_its_controls_cannot_show():
    for changes, message in [({"hidden": (8, 4)}, "same width"), ({"n": 5000}, "8 to 2000 points"),
                             ({"seed": 2**40}, "seeds up to"), ({"lr": 1e-5}, "from 1e-4 to 10")]:
        with pytest.raises(ValueError, match=message):
            playground.Playground(replace(SMALL, **changes))
    live = playground.Playground(SMALL)
    with pytest.raises(ValueError, match="same width"):
        live.reset(replace(SMALL, hidden=(8, 4)))


def test_start_needs_a_running_event_loop():
    live = playground.Playground(SMALL)
    with pytest.raises(RuntimeError, match="running event loop.*step\\(\\) or Run.train\\(\\)"):
        live.start()
    assert not live.running and live.run.epoch == 0


def test_a_frame_is_quick_enough_to_watch():
    """Several frames a second (5 epochs and a redraw), measured here rather than on the page."""
    from nnlib.course import best_time
    pytest.importorskip("ipywidgets", reason="the live playground needs ipywidgets (in requirements.txt)")
    live = playground.Playground(Settings(dataset="spirals", noise=0.05, hidden=(8, 8), lr=0.03))
    live.widget()
    frame = best_time(lambda: live.step(5), repeat=5)
    assert frame < 1 / 3, f"a frame took {frame:.2f} s: fewer than 3 frames a second"


def test_pause_acts_within_an_epoch_even_when_a_frame_is_long():
    """Batch 1 on 1000 points, 50 epochs a frame: tens of seconds of training per frame, yet the
    event loop is free between epochs and Pause stops the training at once."""
    settings = Settings(dataset="moons", n=1000, noise=0.1, hidden=(8,), batch_size=1)

    async def session():
        live = playground.Playground(settings, epochs_per_frame=50)
        one = Run(settings)
        t0 = time.perf_counter()
        one.train(1)
        epoch_seconds = time.perf_counter() - t0
        gaps, last = [], time.perf_counter()
        live.start()
        while live.run.epoch < 2:
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now
        t0 = time.perf_counter()
        live.pause()
        await asyncio.wait_for(live._task, 30)
        waited = time.perf_counter() - t0
        assert live.run.epoch < 50 and not live.running
        assert max(gaps) < 3 * epoch_seconds + 0.3, (max(gaps), epoch_seconds)
        assert waited < 3 * epoch_seconds + 0.3, (waited, epoch_seconds)

    asyncio.run(session())


def test_start_and_pause_on_an_event_loop():
    pytest.importorskip("ipywidgets", reason="the live playground needs ipywidgets (in requirements.txt)")

    async def session():
        live = playground.Playground(SMALL, epochs_per_frame=2)
        live.widget()
        live._ui["start"].click()
        assert live.running and live._ui["start"].disabled and not live._ui["pause"].disabled
        deadline = time.perf_counter() + 30
        while live.run.epoch < 6 and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        assert live.run.epoch >= 6, "no training on the event loop within 30 s"
        live._ui["pause"].click()
        await asyncio.wait_for(live._task, 10)
        stopped = live.run.epoch
        assert not live.running and not live._ui["start"].disabled
        await asyncio.sleep(0.1)
        assert live.run.epoch == stopped                                    # paused means paused
        live.start()
        live.close()                                                        # cancels at once
        with pytest.raises(asyncio.CancelledError):
            await live._task
        assert not live.running
        live.max_epochs = live.run.epoch + 3
        live.start()
        await asyncio.wait_for(live._task, 30)                              # ends by itself
        assert live.run.epoch == live.max_epochs

    asyncio.run(session())


def test_the_live_playground_trains_in_a_real_kernel_between_cells():
    """The learner's path: start in one cell, the kernel stays free, pause in another."""
    jupyter_client = pytest.importorskip("jupyter_client", reason="needs jupyter_client (with Jupyter)")
    km, kc = jupyter_client.manager.start_new_kernel(kernel_name="python3")

    def execute(code: str) -> str:
        reply = kc.execute_interactive(code, timeout=120, output_hook=lambda msg: out.append(msg))
        assert reply["content"]["status"] == "ok", reply["content"]
        return "".join(m["content"].get("text", "") for m in out if m["msg_type"] == "stream")

    try:
        out: list = []
        execute("from nnlib import playground\n"
                "p = playground.Playground(playground.Settings(n=60, hidden=(4,)), epochs_per_frame=1)\n"
                "p.widget(); p.start()")
        deadline = time.time() + 60
        epoch = 0
        while epoch < 3 and time.time() < deadline:
            out = []
            epoch = int(execute("print(p.run.epoch)").split()[-1])          # the kernel answers meanwhile
            time.sleep(0.2)
        assert epoch >= 3, "the playground did not train between cells"
        out = []
        text = execute("import asyncio\np.pause()\nawait asyncio.wait_for(p._task, 20)\n"
                       "e = p.run.epoch\nawait asyncio.sleep(0.3)\nprint(p.running, p.run.epoch == e)")
        assert text.split() == ["False", "True"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_every_public_name_cites_the_page():
    missing = []
    for name in playground.__all__:
        obj = getattr(playground, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        members = [(name, obj)]
        if inspect.isclass(obj):
            members += [(f"{name}.{m}", v) for m, v in vars(obj).items() if not m.startswith("_")
                        and (inspect.isfunction(v) or isinstance(v, property))]
        missing += [n for n, o in members
                    if "{ref}`sec-" not in (inspect.getdoc(o.fget if isinstance(o, property) else o) or "")]
    assert not missing, missing


# --------------------------------------------------------------------------- the built page
PAGE = "chapters/playground.html"
MAX_PAGE_BYTES = 3_000_000


@pytest.fixture(scope="module")
def built_page():
    missing = missing_prerequisites()
    if not missing and not (SITE / PAGE).is_file():
        missing = [f"no {PAGE} in the built site (is chapters/playground in _toc.yml?)"]
    if missing:
        message = "playground page tests cannot run: " + "; ".join(missing)
        fail_or_skip(message)
    return SITE / PAGE


@pytest.fixture(scope="module")
def page_data(built_page):
    text = built_page.read_text(encoding="utf-8")
    found = re.search(r'<div class="nnviz-explore nnplay" id="[^"]+">.*?'
                      r'<script type="application/json">(.*?)</script>', text, re.S)
    assert found, "no precomputed-runs player on the page"
    return json.loads(found.group(1))


def test_page_weight(built_page, page_data):
    size = built_page.stat().st_size
    print(f"\nplayground page: {size / 1e6:.2f} MB of HTML, {len(page_data['runs'])} runs")
    assert size < MAX_PAGE_BYTES, f"{PAGE} is {size / 1e6:.2f} MB; budget {MAX_PAGE_BYTES / 1e6:.0f} MB"
    assert len(page_data["runs"]) == 72


def test_page_verdicts_follow_from_the_runs_numbers(page_data):
    runs = []
    for k in range(len(page_data["runs"])):
        _, curves = decode(page_data, k)
        runs.append(SimpleNamespace(train_loss=curves[0].astype(float).tolist(),
                                    test_loss=curves[1].astype(float).tolist(),
                                    accuracy=float(curves[3, -1])))
    for key, k in page_data["index"]:
        choice = {a: page_data["choices"][a][i][1] for a, i in zip(page_data["order"], key)}
        v1, v2, v3 = page_data["runs"][k]["verdicts"]
        assert v1[0] == (choice["dataset"] == "spirals" and runs[k].accuracy >= playground.SEPARATES - 1e-6)
        assert v2[0] == playground.overfits(runs[k]).passed
        # challenge 3, both ways: met exactly when L2 is on, the run without L2 overfits, this one
        # does not, and it ends with a lower test loss (a missing "met" fails as a wrong one does)
        (twin,) = [j for key2, j in page_data["index"] if key2[:3] == key[:3] and key2[3] == 0]
        expected = (choice["l2"] > 0 and playground.overfits(runs[twin]).passed and not v2[0]
                    and runs[k].test_loss[-1] < runs[twin].test_loss[-1])
        assert v3[0] == expected, (choice, v3)


@pytest.fixture(scope="module")
def page(built_page):
    from playwright.sync_api import sync_playwright

    with SiteServer(SITE) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme="light")
        ctx.set_default_timeout(60_000)
        ctx.route(lambda url: not is_local(url), lambda route: route.abort("blockedbyclient"))
        pg = ctx.new_page()
        problems: list[str] = []
        pg.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
        pg.on("pageerror", lambda err: problems.append(str(err)))
        pg.goto(server.url + PAGE, wait_until="load")
        pg.wait_for_load_state("networkidle")
        pg.problems = problems
        yield pg
        browser.close()


STATE = """() => { const r = document.querySelector('.nnplay');
  return {src: r.querySelector('img').src, alt: r.querySelector('img').alt,
          out: r.querySelector('output').textContent,
          status: r.querySelector('.nnplay-status').textContent,
          live: r.querySelector('.nnplay-status').getAttribute('aria-live'),
          value: r.querySelector('input[type=range]').value,
          valuetext: r.querySelector('input[type=range]').getAttribute('aria-valuetext'),
          play: r.querySelector('button').textContent,
          challenges: Array.from(r.querySelectorAll('.nnplay-challenges li')).map(li => li.textContent)}; }"""


PROBABILITY = "([r, f, x, y]) => document.querySelector('.nnplay').nnplay.probability(r, f, x, y)"


def test_page_draws_the_network_it_stores(page, page_data):
    """The page's script computes P(class 1) as MLP.forward does, from the stored float32 weights."""
    rng = np.random.default_rng(0)
    for k in rng.choice(len(page_data["runs"]), 6, replace=False):
        run = page_data["runs"][int(k)]
        params, _ = decode(page_data, int(k))
        for f in (0, len(page_data["snapshots"]) - 1):
            net = MLP(run["sizes"], hidden=page_data["activation"], output="sigmoid", seed=0)
            net.params[...] = params[f].astype(np.float64)
            pts = rng.uniform(-playground.BOX, playground.BOX, size=(5, 2))
            expected = net.forward(pts)[:, 0]
            got = [page.evaluate(PROBABILITY, [int(k), f, float(x), float(y)]) for x, y in pts]
            assert np.allclose(got, expected, rtol=1e-9, atol=1e-12), (k, f)
    assert not page.problems, page.problems


def test_page_controls_work_from_the_keyboard(page, page_data):
    page.evaluate("() => document.querySelector('.nnplay').scrollIntoView()")
    first = page.evaluate(STATE)
    last = len(page_data["snapshots"]) - 1
    assert first["value"] == str(last) and first["out"] == str(page_data["snapshots"][last])
    assert first["status"].startswith(f"Epoch {page_data['snapshots'][last]} of ")
    assert len(first["challenges"]) == 3
    slider = page.locator(".nnplay input[type=range]")
    slider.focus()
    page.keyboard.press("Home")
    home = page.evaluate(STATE)
    assert home["out"] == "0" and home["src"] != first["src"] and home["status"].startswith("Epoch 0 of ")
    assert home["valuetext"] == "epoch 0" and home["live"] == "polite"   # the epoch, not the index
    page.keyboard.press("ArrowRight")
    right = page.evaluate(STATE)
    assert right["out"] == str(page_data["snapshots"][1])
    assert right["valuetext"] == f"epoch {page_data['snapshots'][1]}" and right["value"] == "1"
    # choose another data set with the keyboard: picture, description and verdicts follow
    select = page.locator(".nnplay select[data-key=dataset]")
    select.focus()
    page.keyboard.press("ArrowUp")
    moved = page.evaluate(STATE)
    assert moved["src"] != home["src"] and moved["alt"] != home["alt"] and "moons" in moved["alt"]
    (k,) = [k for key, k in page_data["index"] if key == [
        int(page.locator(f".nnplay select[data-key={a}]").input_value()) for a in page_data["order"]]]
    assert moved["challenges"] == [f"Challenge {i + 1}: {'met' if v[0] else 'not met'} by this run "
                                   f"({playground._fill(v[1], v[2])})."
                                   for i, v in enumerate(page_data["runs"][k]["verdicts"])]
    # the play button: Enter starts, the epoch advances, Enter again pauses
    button = page.locator(".nnplay button")
    button.focus()
    page.keyboard.press("Enter")
    page.wait_for_timeout(900)
    playing = page.evaluate(STATE)
    assert playing["play"] == "Pause" and int(playing["value"]) > 1
    assert playing["live"] == "off"                        # not announced four times a second
    page.keyboard.press("Enter")
    paused = page.evaluate(STATE)
    page.wait_for_timeout(600)
    assert paused["play"] == "Play" and page.evaluate(STATE)["value"] == paused["value"]
    assert paused["live"] == "polite"
    assert not page.problems, page.problems


def test_page_player_is_accessible(page):
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("""async () => {
        const r = await axe.run(document.querySelector('.nnplay'), {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help}));}""")
    bad = [v for v in result if v["impact"] in ("critical", "serious")]
    assert not bad, bad
