"""nnlib.viz: the interactive figures must work both live (ipywidgets) and static (HTML slider)."""
import json
import re
import threading
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

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
    # the figure's text alternative, on the image itself (the <img>'s title): caption and titles
    assert image.tooltip == f"{e.caption}. Figure: w = 0.7" and image.description == ""
    reset.click()
    assert e.live.wait(10)
    assert sliders["w"].value == 0.0 and sliders["b"].value == 3
    assert e.live.title == "w = 0" and image.value == e.render(fast=True)
    assert image.tooltip.endswith("Figure: w = 0")


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


def _shared_figure_draw():
    """A draw that reuses one figure (as the chapters' live figures do), slow enough between its
    two updates that two threads drawing it at once would mix their values."""
    fig = Figure(figsize=(1.5, 1.5), dpi=40)
    ax = fig.subplots()
    (line,) = ax.plot([0, 1], [0, 0])
    ax.set_ylim(-1, 1)

    def draw(w):
        line.set_ydata([0, w])
        time.sleep(0.002)
        ax.set_title(f"w = {w:g}")
        return fig
    return draw


def test_live_thread_and_main_thread_never_draw_a_shared_figure_at_once():
    e = viz.explore(_shared_figure_draw(), w=viz.Range(-1.0, 1.0, 0.25))
    values = [e.params["w"].value(k) for k in range(e.params["w"].count)]
    ref = {v: e.render(w=v, fast=True) for v in values}
    assert len(set(ref.values())) == len(values)
    sliders, _, _, image = _parts(e.widget())
    posted = []
    image.observe(lambda change: posted.append(change["new"]), names="value")
    wrong = 0
    for i in range(60):              # the live thread draws while the main thread renders
        sliders["w"].value = values[i % len(values)]
        w = values[(3 * i + 1) % len(values)]
        wrong += e.render(w=w, fast=True) != ref[w]
    assert e.live.wait(20) and e.live.error is None
    mixed = sum(png not in ref.values() for png in posted)
    assert wrong == 0 and mixed == 0, \
        f"{wrong} renders and {mixed} of {len(posted)} live pictures mixed two sets of values"
    assert image.value == ref[values[59 % len(values)]]


def test_every_display_shows_one_live_widget_drawn_by_one_thread():
    e = viz.explore(_shared_figure_draw(), w=viz.Range(-1.0, 1.0, 0.25))
    first, second = e._repr_mimebundle_(), e._repr_mimebundle_()
    key = "application/vnd.jupyter.widget-view+json"
    assert first[key]["model_id"] == second[key]["model_id"]
    box = e.widget()
    live = e.live
    assert e.widget() is box and e.live is live
    sliders, _, _, _ = _parts(box)
    sliders["w"].value = 0.5
    assert live.wait(10)
    assert sum(t.name == "nnviz-live" and t is live._thread for t in threading.enumerate()) == 1
    box.close()                       # a closed widget is made again, and its thread stops
    again = e.widget()
    assert again is not box and e.live is not live
    live._thread.join(5)
    assert not live._thread.is_alive()


def test_a_generator_draw_abandoned_for_newer_values_is_closed():
    closed = []

    def steps(w):
        fig = _titled(w)
        try:
            for _ in range(50):
                time.sleep(0.01)
                yield fig
        finally:
            closed.append(w)

    e = viz.explore(steps, w=[1, 2, 3])
    closed.clear()
    sliders, _, _, _ = _parts(e.widget())
    sliders["w"].value = 0
    time.sleep(0.05)
    sliders["w"].value = 2
    assert e.live.wait(20)
    assert closed[0] == 1 and closed[-1] == 3 and e.live.drawn < 100


def test_static_sliders_announce_the_value_shown_and_values_cannot_close_the_script():
    hostile = "</script><img src=x onerror=alert(1)><!--"
    e = viz.explore(lambda w, b: _titled(1.0 if w == hostile else 0.5, b), w=["a", hostile],
                    b=viz.Range(0.0, 1.0, 0.25, static=[0.0, 0.25, 1.0]), caption="c </script> & <b>")
    page = e.to_html()
    json_text = re.search(r'<script type="application/json">(.*?)</script>', page, re.S).group(1)
    assert "<" not in json_text and ">" not in json_text and "&" not in json_text
    data = json.loads(json_text)
    assert data["labels"] == {"w": ["a", hostile], "b": ["0", "0.25", "1"]}
    assert page.count("</script>") == 2 and page.count("<script") == 2, "a value closed or opened a script"
    inputs = re.findall(r'<input type="range"[^>]*>\s*<output>([^<]*)</output>', page)
    valuetexts = re.findall(r'aria-valuetext="([^"]*)"', page)
    assert valuetexts == inputs == ["&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&lt;!--", "0.25"]


def test_static_sliders_in_a_browser_update_the_value_announced():
    """The static version in Chromium: moving a slider shows the matching frame and sets the
    slider's aria-valuetext to the value shown (a screen reader announces "0.25", not "1")."""
    import os

    from site_helpers import CHROMIUM, CHROMIUM_ARGS, fail_or_skip

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not os.access(CHROMIUM, os.X_OK):
        message = f"needs Playwright and Chromium at {CHROMIUM} (run `make setup` and `make browser`)"
        fail_or_skip(message)
    hostile = "</script><b>"
    e = viz.explore(lambda w, b: _titled(2.0 if w == hostile else 0.5, b), w=["a", hostile],
                    b=viz.Range(0.0, 1.0, 0.25, static=[0.0, 0.25, 1.0]))

    def drive():
        # Playwright's sync API refuses to start in a thread where another sync session runs
        # (the site tests keep theirs open for the whole run), so this one gets its own thread.
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                page = browser.new_page()
                errors = []
                page.on("pageerror", lambda err: errors.append(str(err)))
                page.set_content(f"<!doctype html><html lang='en'><body>{e.to_html()}</body></html>")
                inputs = page.locator(".nnviz-explore input[type=range]")
                assert inputs.nth(0).get_attribute("aria-valuetext") == hostile
                src0 = page.locator(".nnviz-explore img").get_attribute("src")
                move = "(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); }"
                for k, pos, text in ((0, "0", "a"), (1, "2", "1")):
                    inputs.nth(k).evaluate(move, pos)
                    assert inputs.nth(k).get_attribute("aria-valuetext") == text
                src = page.locator(".nnviz-explore img").get_attribute("src")
                data = re.search(r'<script type="application/json">(.*?)</script>', e.to_html(), re.S)
                frames = json.loads(data.group(1))["frames"]
                assert src != src0 and src == "data:image/png;base64," + frames[2]
                assert not errors, errors
            finally:
                browser.close()

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(drive).result()


def _linear(w1, w2, b):
    return lambda P: 1 / (1 + np.exp(-(P @ np.array([w1, w2]) + b)))


def test_decision_map_shades_one_point_per_pixel_centre_and_draws_the_boundary():
    fig = Figure(figsize=(3, 3), dpi=50)
    ax = fig.subplots()
    shading = viz.decision_map(ax, _linear(2.0, 0.0, -1.0), (-1, 1, -2, 2), colorbar=True)
    box = ax.get_window_extent()
    rows, cols = shading.shape
    assert abs(cols - box.width) <= 1 and abs(rows - box.height) <= 1     # about one point per pixel
    assert shading.image.get_extent() == [-1, 1, -2, 2] and shading.image.get_interpolation() == "nearest"
    assert shading.image.get_cmap() is viz.CLASS_CMAP
    # the first column's points are the centres of the first pixels: x0 + half a pixel
    assert np.isclose(shading.points[0, 0], -1 + 1 / cols) and np.isclose(shading.points[0, 1], -2 + 2 / rows)
    expected = _linear(2.0, 0.0, -1.0)(shading.points).reshape(rows, cols)
    assert np.array_equal(shading.image.get_array(), expected)
    # ten bands: p = 0.52 and 0.58 share a colour, 0.48 and 0.52 do not
    norm = shading.image.norm
    assert norm(0.52) == norm(0.58) != norm(0.48)
    # the boundary is the line 2x - 1 = 0, i.e. x = 0.5
    (segment, *_) = shading.boundary.allsegs[0]
    assert np.allclose(segment[:, 0], 0.5, atol=2 / cols)
    assert shading.colorbar is not None and shading.colorbar.ax.get_ylabel() == "probability of class 1"
    ax.scatter([-5, 5], [-5, 5])                               # points outside: the view stays
    assert ax.get_xlim() == (-1, 1) and ax.get_ylim() == (-2, 2)
    viz._png(fig)


def test_decision_map_counts_the_pixels_of_an_axes_with_equal_aspect():
    fig = Figure(figsize=(4.4, 3.6), dpi=72)
    ax = fig.subplots()
    ax.set_aspect("equal")
    shading = viz.decision_map(ax, _linear(1.0, -1.0, 0.0), (-2, 2, -2, 2), colorbar=True)
    rows, cols = shading.shape
    viz._png(fig)                                              # drawn: the box as shown
    box = ax.get_window_extent()
    assert abs(rows - cols) <= 1 and abs(cols - box.width) <= 1 and abs(rows - box.height) <= 1


def test_decision_map_update_replaces_shading_and_boundary():
    fig = Figure(figsize=(2, 2), dpi=40)
    ax = fig.subplots()
    ax.set_aspect("equal")
    shading = viz.decision_map(ax, _linear(1.0, 1.0, 0.0), (-1, 1, -1, 1), resolution=20, bands=None)
    assert shading.shape == (20, 20) and ax.get_aspect() == 1.0
    assert len(ax.images) == 1 and shading.boundary is not None
    p = shading.update(_linear(0.0, 0.0, 3.0))                 # everywhere class 1: no boundary
    assert np.all(p > 0.5) and shading.boundary is None and len(ax.images) == 1
    assert not any(isinstance(c, matplotlib.contour.ContourSet) for c in ax.collections + ax.get_children())
    shading.update(lambda P: P[:, :1] * 0 + (P[:, 1:] > 0))    # (N, 1), a step: boundary at y = 0
    assert shading.boundary is not None and np.array_equal(shading.image.get_array()[:10], np.zeros((10, 20)))


@pytest.mark.parametrize("kwargs, message", [
    (dict(predict=lambda P: P @ np.array([1.0, 1.0]), extent=(-1, 1, -1, 1)), r"probabilities in \[0, 1\]"),
    (dict(predict=lambda P: np.full((len(P), 2), 0.5), extent=(-1, 1, -1, 1)), "one probability of class 1"),
    (dict(predict=lambda P: np.full(len(P), np.nan), extent=(-1, 1, -1, 1)), "probabilities"),
    (dict(predict=lambda P: P[:, 0] * 0, extent=(1, -1, -1, 1)), "x0 < x1"),
    (dict(predict=lambda P: P[:, 0] * 0, extent=(0, 1, 0)), "four numbers"),
    (dict(predict=lambda P: P[:, 0] * 0, extent=(0, 1, 0, 1), bands=1), "bands must be"),
    (dict(predict=lambda P: P[:, 0] * 0, extent=(0, 1, 0, 1), resolution=1), "at least 2 x 2"),
])
def test_decision_map_rejects_bad_input_clearly(kwargs, message):
    ax = Figure(figsize=(1, 1)).subplots()
    predict, extent = kwargs.pop("predict"), kwargs.pop("extent")
    with pytest.raises(ValueError, match=message):
        viz.decision_map(ax, predict, extent, **kwargs)


def test_neutral_colours_differ_from_the_sign_and_class_colours():
    from matplotlib.colors import to_rgb

    taken = {to_rgb(c) for c in (viz.POSITIVE, viz.NEGATIVE, *viz.CLASS_COLOURS)}
    neutral = [to_rgb(c) for c in viz.NEUTRAL_COLOURS]
    assert len(set(neutral)) == len(neutral) >= 4 and not taken & set(neutral)
