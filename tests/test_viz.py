"""nnlib.viz: the interactive figures must work both live (ipywidgets) and static (HTML slider)."""
import json
import re

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


def test_live_widget_slider_switches_frames():
    e = viz.explore(_line, w=[0.5, 1.0, 2.0], b=[0])
    box = e.widget()
    slider_w, image = box.children[0].children[0], box.children[1]
    slider_w.value = 0
    assert image.value == e.frames[0]
    slider_w.value = 2
    assert image.value == e.frames[2]


@pytest.mark.parametrize("bad, message", [
    (dict(), "at least one parameter"),
    (dict(w=[]), "has no values"),
    (dict(w=list(range(20)), b=list(range(20))), "at most 150"),
])
def test_explore_rejects_bad_grids_clearly(bad, message):
    with pytest.raises(ValueError, match=message):
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
    assert len(ax.lines) == 2 * 3 + 3 * 1
    plt.close(fig)
