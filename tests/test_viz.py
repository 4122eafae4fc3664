"""nnlib.viz: the interactive figures must work both live (ipywidgets) and static (HTML slider)."""
import json
import re
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from nnlib import viz  # noqa: E402


def _line(w, b):
    fig, ax = plt.subplots(figsize=(2, 2))
    x = np.linspace(-2, 2, 20)
    ax.plot(x, np.tanh(w * x + b))
    return fig


def test_explore_precomputes_one_distinct_frame_per_combination():
    e = viz.explore(_line, w=[0.5, 1.0, 2.0], b=[-1, 1], caption="tanh(wx+b)")
    assert len(e.frames) == 6
    assert len(set(e.frames)) == 6, "every combination must draw a different picture"
    # Row-major order: the frame for (w=2.0, b=-1) is index 2*2+0.
    assert e.frames[4] == viz._png(_line(2.0, -1))


def test_static_html_has_a_slider_per_parameter_and_all_frames():
    e = viz.explore(_line, w=[0.5, 1.0, 2.0], b=[-1, 1], caption="tanh(wx+b)")
    page = e.to_html()
    assert page.count('type="range"') == 2
    assert 'class="nnviz-explore"' in page and 'alt="tanh(wx+b)"' in page
    data = json.loads(re.search(r'<script type="application/json">(.*?)</script>', page).group(1))
    assert data["sizes"] == [3, 2] and len(data["frames"]) == 6
    assert data["labels"]["w"] == ["0.5", "1", "2"]


def test_mimebundle_offers_live_widget_and_static_html():
    bundle = viz.explore(_line, w=[1.0, 2.0], b=[0])._repr_mimebundle_()
    assert "text/html" in bundle
    assert "application/vnd.jupyter.widget-view+json" in bundle


def _parts(box):
    """The live widget's sliders (by name), Reset button, status line and image."""
    bar, status, image = box.children
    *sliders, reset = bar.children
    return {s.description: s for s in sliders}, reset, status, image


def test_live_widget_draws_a_value_between_the_grid_values():
    e = viz.explore(_line, w=viz.Range(0.5, 2.0, 0.05, static=4), b=[-1, 1])
    assert e.grid["w"] == [0.5, 1.0, 1.5, 2.0] and len(e.frames) == 8
    sliders, _, status, image = _parts(e.widget())
    assert type(sliders["w"]).__name__ == "FloatSlider" and sliders["w"].step == 0.05
    assert type(sliders["b"]).__name__ == "SelectionSlider"
    sliders["w"].value = 1.35                     # not in the website's grid
    assert e.live.wait(10) and e.live.error is None
    assert image.value == e.render(w=1.35, b=1, fast=True)
    assert image.value not in e.frames
    assert "w = 1.35, b = 1" in status.value
    sliders["b"].value = 0                        # the index of b = -1
    assert e.live.wait(10)
    assert image.value == e.render(w=1.35, b=-1, fast=True)


def _titled(w, b=0):
    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    ax.plot([0, 1], [b, w])
    ax.set_title(f"w = {w:g}")
    return fig


def test_live_status_gives_the_figure_title_and_reset_restores_the_start():
    e = viz.explore(_titled, w=(-1.0, 1.0, 0.1), b=viz.Range(0, 4, 1, default=3))
    sliders, reset, status, image = _parts(e.widget())
    assert type(sliders["b"]).__name__ == "IntSlider" and sliders["b"].value == 3
    assert e.defaults == {"w": 0.0, "b": 3}
    sliders["w"].value = 0.7
    sliders["b"].value = 1
    assert e.live.wait(10)
    assert e.live.title == "w = 0.7" and "w = 0.7, b = 1" in status.value
    assert '<span class="nnviz-title"' in status.value and "Figure: w = 0.7<" in status.value
    reset.click()
    assert e.live.wait(10)
    assert sliders["w"].value == 0.0 and sliders["b"].value == 3
    assert e.live.title == "w = 0" and image.value == e.render(fast=True)


def test_live_drawing_skips_values_a_dragged_slider_has_left():
    calls = []

    def slow(w):
        calls.append(w)
        time.sleep(0.05)
        return _titled(w)

    e = viz.explore(slow, w=(0, 100, 1))
    sliders, _, _, image = _parts(e.widget())
    calls.clear()
    for v in range(1, 41):                        # 40 positions in far less than 40 x 50 ms
        sliders["w"].value = v
    assert e.live.wait(20)
    assert calls[-1] == 40 and e.live.title == "w = 40"
    assert len(calls) < 20, f"drew {len(calls)} of 40 stale positions: the stale ones must be skipped"


def test_a_generator_draw_shows_progress_live_and_its_last_figure_on_the_website():
    def training(epochs):
        fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
        (line,) = ax.plot([0], [0])
        for e in range(1, epochs + 1):
            line.set_data(range(e + 1), [k * k for k in range(e + 1)])
            ax.relim()
            ax.autoscale_view()
            ax.set_title(f"epochs = {e}")
            yield fig                             # the same figure, updated

    e = viz.explore(training, epochs=[2, 3])
    assert e.frames[1] == e.render(epochs=3) and e.frames[0] != e.frames[1]
    sliders, _, _, image = _parts(e.widget())
    before = e.live.drawn
    assert e.defaults == {"epochs": 3}
    sliders["epochs"].value = 0                   # index of 2 epochs
    assert e.live.wait(10)
    assert e.live.drawn - before == 2 and e.live.title == "epochs = 2"
    assert image.value == e.render(epochs=2, fast=True)


def test_range_grid_snapping_and_integers():
    r = viz.Range(0.1, 0.7, 0.1, static=4)
    assert r.count == 7 and r.grid() == [0.1, 0.3, 0.5, 0.7]   # 0.1 + 2 x 0.1 shows as 0.3
    assert r.snap(0.34) == 0.3 and r.snap(5) == 0.7 and r.snap(-5) == 0.1
    assert r.start() == 0.5 and not r.integer
    k = viz.Range(2, 12, 1, static=11)
    assert k.integer and k.grid() == list(range(2, 13)) and all(type(v) is int for v in k.grid())
    assert viz.Range(0.0, 3.0, 0.375, static=5).grid() == [0.0, 0.75, 1.5, 2.25, 3.0]
    assert viz.Range(0, 1, 0.25, static=[0, 0.5, 1]).grid() == [0, 0.5, 1]
    # listed grid values are kept as given, in both places; other values snap to the step
    seen = []
    e = viz.explore(lambda w: seen.append(w) or _titled(w), w=viz.Range(0.0, 1.0, 0.1, static=[0.05, 0.5]))
    assert e.grid["w"] == [0.05, 0.5] and e.defaults["w"] == 0.5
    e.render(w=0.05)
    e.render(w=0.33)
    assert seen[-2:] == [0.05, 0.3]
    e = viz.explore(_line, w=(0.5, 2.0, 0.5), b=[0])            # a tuple is a Range
    assert isinstance(e.params["w"], viz.Range) and e.grid["w"] == [0.5, 1.0, 1.5, 2.0]


@pytest.mark.parametrize("args, message", [
    ((1.0, 0.0, 0.1), "lo must be below hi"),
    ((0.0, 1.0, 0.0), "step must be positive"),
    ((0.0, 1.0, 2.0), "step must be positive"),
    ((0.0, float("nan"), 0.1), "finite number"),
    ((0.0, 1.0, 0.1, 1), "at least 2 values"),
    ((0.0, 1.0, 0.1, [0.5, 3.0]), "outside"),
    ((0.0, 1.0, 0.1, 5, 1.5), "default 1.5 is outside"),
])
def test_range_rejects_bad_bounds_clearly(args, message):
    with pytest.raises((ValueError, TypeError), match=message):
        viz.Range(*args)


def test_render_checks_values_and_a_failing_live_draw_says_why():
    e = viz.explore(_line, w=(0.0, 1.0, 0.1), b=[0, 1])
    with pytest.raises(ValueError, match=r"w = 3 is outside its range \[0, 1\]"):
        e.render(w=3)
    with pytest.raises(ValueError, match="b = 5 is not one of its values"):
        e.render(b=5)
    with pytest.raises(ValueError, match="unknown parameter"):
        e.render(v=1)

    def fragile(w):
        if w > 0.5:
            raise RuntimeError("too large")
        return _titled(w)

    e = viz.explore(fragile, w=(0.0, 1.0, 0.1))
    sliders, _, status, _ = _parts(e.widget())
    sliders["w"].value = 0.9
    assert e.live.wait(10)
    assert isinstance(e.live.error, RuntimeError) and "RuntimeError: too large" in status.value


@pytest.mark.parametrize("bad, message", [
    (dict(), "at least one parameter"),
    (dict(w=[]), "has no values"),
    (dict(w="abc"), "must be a list of values"),
    (dict(w=list(range(20)), b=list(range(20))), "at most 150"),
])
def test_explore_rejects_bad_grids_clearly(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        viz.explore(_line, **bad)


def test_explore_requires_a_figure():
    with pytest.raises(TypeError, match="must return a matplotlib Figure"):
        viz.explore(lambda w: None, w=[1])


def test_animate_is_labelled_for_accessibility():
    fig, ax = plt.subplots(figsize=(2, 2))
    (line,) = ax.plot([0, 1], [0, 1])
    page = viz.animate(fig, lambda i: line.set_ydata([0, i]), frames=3, caption="demo").data
    assert 'alt="demo"' in page and 'aria-label="demo: frame"' in page


def test_draw_network_from_sizes_draws_every_connection():
    fig = viz.draw_network([2, 3, 1])
    ax = fig.axes[0]
    connections, neurons = ax.collections
    assert len(connections.get_segments()) == 2 * 3 + 3 * 1
    assert len(neurons.get_offsets()) == 2 + 3 + 1
    plt.close(fig)


def test_the_latency_benchmark_finds_a_chapters_explorations_and_times_them(tmp_path):
    """bench/explore.py on a two-exploration notebook: it runs the code cells (a magic and a cell
    tagged raises-exception included) and drives each live widget through seeded slider changes."""
    import random
    import sys
    from pathlib import Path

    import nbformat

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.explore import _value_sequence, drive, explorations_of

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%matplotlib inline\nimport matplotlib.pyplot as plt\n"
                                  "from nnlib import viz"),
        nbformat.v4.new_code_cell("1 / 0", metadata={"tags": ["raises-exception"]}),
        nbformat.v4.new_code_cell(
            "def draw(w, b=0):\n    fig, ax = plt.subplots(figsize=(1, 1), dpi=30)\n"
            "    ax.set_title(f'w = {w:g}')\n    return fig\n"
            "viz.explore(draw, w=(0.0, 1.0, 0.05), b=[0, 1])\nviz.explore(draw, w=[1, 2])"),
        nbformat.v4.new_code_cell("raise RuntimeError('after the last exploration: never run')"),
    ]
    path = tmp_path / "demo.ipynb"
    nbformat.write(nb, path)
    found, seconds = explorations_of(path)
    assert [cell for cell, _ in found] == [2, 2] and seconds > 0
    e = found[0][1]
    moves = _value_sequence(e, 12, random.Random(0))
    assert len(moves) == 12 and {name for name, _ in moves} == {"w", "b"}
    assert any(name == "w" and value not in e.grid["w"] for name, value in moves), moves
    result = drive(e, 12, seed=0)
    assert result["changes"] == 12 and not result["progressive"]
    first = result["first_ms"]
    assert 0 < first["p50"] <= first["p95"] <= first["max"]
    assert e.live.drawn == 12
