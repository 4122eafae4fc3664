"""Figures and interactive explorations for the chapters.

Not imported by ``import nnlib`` (matplotlib is slow to import); use ``from nnlib import viz``.

Two kinds of interactive figure, both of which work in a live kernel *and* on the static website:

* :func:`explore` draws one figure per combination of parameter values when the cell runs. In
  Jupyter the learner gets ipywidgets sliders that switch between those frames; on the website
  (no kernel) the same frames sit behind plain HTML sliders. Both come in one output, and the
  website build is configured to prefer the HTML one.
* :func:`animate` turns a matplotlib animation (for example a network changing over training
  epochs) into a self-contained JavaScript player.

:func:`draw_network` draws the diagram of an MLP used from chapter 3 on.
"""
from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib

matplotlib.rcParams.setdefault("figure.dpi", 100)
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.animation import FuncAnimation  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

__all__ = ["explore", "animate", "draw_network", "Exploration", "POSITIVE", "NEGATIVE", "SIGN_CMAP",
           "CLASS_COLOURS", "CLASS_CMAP"]

# One colour language for the whole course (every figure that colours by sign or by class uses
# these, and puts a colour bar or a legend beside it):
#   sign: blue for positive, red for negative (weights in network diagrams, weight templates,
#         saliency maps, gradients); images use SIGN_CMAP with limits symmetric about zero, so
#         white is exactly 0;
#   class: class 1 blue, class 0 orange (scatter plots, decision regions), as in the TensorFlow
#         Playground; CLASS_CMAP shades a predicted probability from class 0 (orange) to 1 (blue).
POSITIVE = "tab:blue"
NEGATIVE = "tab:red"
SIGN_CMAP = "RdBu"
CLASS_COLOURS = ("tab:orange", "tab:blue")
CLASS_CMAP = matplotlib.colors.LinearSegmentedColormap.from_list(
    "nnlib_class", ["#ff7f0e", "#f7f7f7", "#1f77b4"])

MAX_FRAMES = 150


def _png(fig: Figure) -> bytes:
    """Render ``fig`` to PNG bytes (no timestamp, so the bytes repeat run to run) and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


class Exploration:
    """Precomputed frames of ``draw(**params)`` over a grid of parameter values.

    Displayed as live ipywidgets sliders in Jupyter and as an HTML slider (class
    ``nnviz-explore``) on the static website; both switch between the same frames.
    """

    def __init__(self, draw: Callable[..., Figure], params: dict[str, Sequence[Any]],
                 caption: str = "") -> None:
        if not params:
            raise ValueError("explore() needs at least one parameter, e.g. explore(draw, w=[0, 1, 2])")
        self.names = list(params)
        self.values: dict[str, list[Any]] = {}
        for name, vals in params.items():
            vals = list(vals)
            if not vals:
                raise ValueError(f"explore(): parameter {name!r} has no values; give a list of at least one")
            self.values[name] = vals
        n = 1
        for vals in self.values.values():
            n *= len(vals)
        if n > MAX_FRAMES:
            raise ValueError(f"explore(): {n} frames requested (the product of the value counts); "
                             f"at most {MAX_FRAMES}: use fewer values per parameter")
        self.caption = caption or "Interactive figure: " + ", ".join(self.names)
        self.frames: list[bytes] = []
        for combo in itertools.product(*self.values.values()):
            fig = draw(**dict(zip(self.names, combo)))
            if not isinstance(fig, Figure):
                raise TypeError("explore(): draw() must return a matplotlib Figure, "
                                f"got {type(fig).__name__}")
            self.frames.append(_png(fig))
        # Start at the middle value of each parameter.
        self.start = [len(v) // 2 for v in self.values.values()]

    def _index(self, positions: Sequence[int]) -> int:
        i = 0
        for name, pos in zip(self.names, positions):
            i = i * len(self.values[name]) + pos
        return i

    def __repr__(self) -> str:
        sizes = " x ".join(str(len(v)) for v in self.values.values())
        return f"Exploration({', '.join(self.names)}: {sizes} = {len(self.frames)} frames)"

    def to_html(self) -> str:
        """The static version: an <img> and one range input per parameter, plain JavaScript."""
        digest = hashlib.sha1(b"".join(self.frames)).hexdigest()[:12]
        uid = f"nnviz-{digest}"
        frames = [base64.b64encode(f).decode("ascii") for f in self.frames]
        labels = {name: [_fmt(v) for v in vals] for name, vals in self.values.items()}
        controls = []
        for k, name in enumerate(self.names):
            n = len(self.values[name])
            controls.append(
                f'<label class="nnviz-control">{html.escape(name)} '
                f'<input type="range" min="0" max="{n - 1}" step="1" value="{self.start[k]}" '
                f'data-param="{html.escape(name)}" aria-label="{html.escape(name)}"> '
                f'<output>{html.escape(labels[name][self.start[k]])}</output></label>')
        first = frames[self._index(self.start)]
        data = json.dumps({"names": self.names, "sizes": [len(self.values[n]) for n in self.names],
                           "labels": labels, "frames": frames})
        script = (
            "(function(){var root=document.getElementById('%s');"
            "var d=JSON.parse(root.querySelector('script[type=\"application/json\"]').textContent);"
            "var inputs=root.querySelectorAll('input[type=range]');var img=root.querySelector('img');"
            "function show(){var i=0;for(var k=0;k<inputs.length;k++){var p=+inputs[k].value;"
            "i=i*d.sizes[k]+p;inputs[k].nextElementSibling.textContent=d.labels[d.names[k]][p];}"
            "img.src='data:image/png;base64,'+d.frames[i];}"
            "for(var k=0;k<inputs.length;k++){inputs[k].addEventListener('input',show);}})();" % uid)
        return (f'<div class="nnviz-explore" id="{uid}">'
                '<div class="nnviz-controls" style="display:flex;flex-wrap:wrap;gap:1em">'
                f'{"".join(controls)}</div>'
                f'<img style="max-width:100%" alt="{html.escape(self.caption)}" '
                f'src="data:image/png;base64,{first}">'
                f'<script type="application/json">{data}</script><script>{script}</script></div>')

    def widget(self):
        """The live version: ipywidgets sliders switching an Image widget between the frames."""
        import ipywidgets as widgets

        image = widgets.Image(value=self.frames[self._index(self.start)], format="png")
        sliders = []
        for k, name in enumerate(self.names):
            options = [(_fmt(v), i) for i, v in enumerate(self.values[name])]
            sliders.append(widgets.SelectionSlider(options=options, value=self.start[k], description=name,
                                                   continuous_update=True))

        def update(_change: Any = None) -> None:
            image.value = self.frames[self._index([s.value for s in sliders])]

        for s in sliders:
            s.observe(update, names="value")
        return widgets.VBox([widgets.HBox(sliders, layout=widgets.Layout(flex_flow="row wrap")), image])

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle: dict[str, Any] = {"text/plain": repr(self), "text/html": self.to_html()}
        try:
            live = self.widget()._repr_mimebundle_(include=include, exclude=exclude)
        except Exception:  # no ipywidgets, or not in a kernel: the HTML version still works
            live = None
        if live:
            bundle.update({k: v for k, v in live.items() if k != "text/plain"})
        return bundle


def explore(draw: Callable[..., Figure], *, caption: str = "", **params: Sequence[Any]) -> Exploration:
    """An interactive figure: ``draw(**values)`` for every combination of the given values.

    ``draw`` takes one keyword argument per parameter and returns a matplotlib ``Figure``;
    ``params`` give each parameter's values, for example ``explore(draw, w=[-1, 0, 1], b=[0, 1])``
    (at most 150 frames in all). Every frame is drawn once, when the cell runs, so the result
    responds instantly in Jupyter and keeps working on the website, where no kernel runs.
    ``caption`` is the image's alternative text.
    """
    return Exploration(draw, params, caption)


def animate(fig: Figure, update: Callable[[int], Any], frames: int | Sequence[Any], *,
            interval: int = 200, caption: str = "Animation") -> Any:
    """A self-contained JavaScript player for ``FuncAnimation(fig, update, frames)``.

    Works in Jupyter and on the static website alike. The player's frame slider and image get
    ``caption`` as their accessible label. The figure is closed, so it is not shown twice.
    """
    from IPython.display import HTML

    anim = FuncAnimation(fig, update, frames=frames, interval=interval)
    page = anim.to_jshtml(default_mode="once")
    plt.close(fig)
    label = html.escape(caption)
    page = re.sub(r'<img id="', f'<img alt="{label}" id="', page)
    page = re.sub(r'<input id="(_anim_slider[0-9a-f]*)" type="range"',
                  rf'<input id="\1" aria-label="{label}: frame" type="range"', page)
    return HTML(page)


def draw_network(net: Any, ax: Any = None, *, max_neurons: int = 10, show_weights: bool = True) -> Figure:
    """Draw an MLP as layers of neurons joined by connections.

    ``net`` is an :class:`nnlib.MLP` (connections coloured by the sign of the weight, blue for
    positive and red for negative, and drawn thicker for larger magnitude) or a list of layer
    sizes. Layers wider than ``max_neurons`` show their first neurons and a count.
    Introduced in chapter 3, *Layers and connections* ({ref}`sec-layers`).
    """
    sizes = list(getattr(net, "sizes", net))
    weights = [layer.W for layer in net.layers] if show_weights and hasattr(net, "layers") else None
    shown = [min(n, max_neurons) for n in sizes]
    top = max(shown)
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.6 * len(sizes) + 1, max(2.5, 0.4 * top + 1.4)))
    else:
        fig = ax.figure

    def ys(k: int) -> list[float]:
        m = shown[k]  # centred on the widest layer
        return [(top - 1) / 2 + (m - 1) / 2 - i for i in range(m)]

    wmax = max((abs(W).max() for W in weights), default=1.0) if weights else 1.0
    for k in range(len(sizes) - 1):
        y0, y1 = ys(k), ys(k + 1)
        for i, ya in enumerate(y0):
            for j, yb in enumerate(y1):
                if weights is not None:
                    w = weights[k][i, j]
                    color = POSITIVE if w >= 0 else NEGATIVE
                    lw = 0.3 + 2.5 * abs(w) / (wmax or 1.0)
                else:
                    color, lw = "0.6", 0.8
                ax.plot([k, k + 1], [ya, yb], color=color, lw=lw, alpha=0.7, zorder=1)
    for k, n in enumerate(sizes):
        for y in ys(k):
            ax.scatter([k], [y], s=260 if top <= 6 else 140, color="white", edgecolor="black", zorder=2)
        if n > shown[k]:
            ax.text(k, min(ys(k)) - 0.8, f"... {n} in all", ha="center", fontsize=8)
        role = "input" if k == 0 else ("output" if k == len(sizes) - 1 else f"hidden {k}")
        ax.text(k, max(ys(k)) + 0.8, f"{role}\n({n})", ha="center", va="bottom", fontsize=9)
    ax.set_xlim(-0.5, len(sizes) - 0.5)
    ax.set_ylim(-0.6 - (1.0 if max(sizes) > max_neurons else 0.0), top - 1 + 1.6)
    ax.axis("off")
    return fig
