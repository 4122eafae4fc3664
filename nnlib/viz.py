"""Figures and interactive explorations for the chapters.

Not imported by ``import nnlib`` (matplotlib is slow to import); use ``from nnlib import viz``.

Two kinds of interactive figure, both of which work in a live kernel *and* on the static website:

* :func:`explore` makes a figure with sliders. In Jupyter the learner gets ipywidgets sliders
  over continuous ranges (:class:`Range`) and the kernel draws the figure for the values set, as
  they are set; on the website (no kernel) frames drawn in advance for a grid of values sit behind
  plain HTML sliders. Both come in one output, and the website build is configured to prefer the
  HTML one.
* :func:`animate` turns a matplotlib animation (for example a network changing over training
  epochs) into a self-contained JavaScript player.

:func:`draw_network` draws the diagram of an MLP used from chapter 3 on; :func:`decision_map` shades
a classifier's probability of class 1 over a plane (chapters 2, 4, 8 and 12).

A live draw runs in a background thread: make its figure with ``matplotlib.figure.Figure()`` (once,
outside the draw function, then update its artists), not with ``plt.subplots``: pyplot's list of
open figures is shared with the kernel's main thread, and a pyplot figure that a live draw has
just made can be shown by an unrelated cell that finishes meanwhile.
"""
from __future__ import annotations

import base64
import decimal
import hashlib
import html
import io
import itertools
import json
import math
import numbers
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.rcParams.setdefault("figure.dpi", 100)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import PIL.Image  # noqa: E402
from matplotlib.animation import FuncAnimation  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

__all__ = ["explore", "Range", "animate", "draw_network", "decision_map", "DecisionMap", "Exploration",
           "UI_TEXT", "PLAYER_ZH", "caption_language", "relabel", "relabel_widget_state",
           "POSITIVE", "NEGATIVE", "SIGN_CMAP", "CLASS_COLOURS", "CLASS_CMAP", "NEUTRAL_COLOURS"]

# One colour language for the whole course (every figure that colours by sign or by class uses
# these, and puts a colour bar or a legend beside it):
#   sign: blue for positive, red for negative (weights in network diagrams, weight templates,
#         saliency maps, gradients); images use SIGN_CMAP with limits symmetric about zero, so
#         white is exactly 0;
#   class: class 1 blue, class 0 orange (scatter plots, decision regions), as in the TensorFlow
#         Playground; CLASS_CMAP shades a predicted probability from class 0 (orange) to 1 (blue);
#   neither: lines that stand for something else (layers, runs, settings) take NEUTRAL_COLOURS, in
#         order, which avoid blue, red and orange.
POSITIVE = "tab:blue"
NEGATIVE = "tab:red"
SIGN_CMAP = "RdBu"
CLASS_COLOURS = ("tab:orange", "tab:blue")
CLASS_CMAP = matplotlib.colors.LinearSegmentedColormap.from_list(
    "nnlib_class", ["#ff7f0e", "#f7f7f7", "#1f77b4"])
#: Colours for lines that mean neither a sign nor a class (layers, runs, settings), used in order.
NEUTRAL_COLOURS = ("tab:green", "tab:purple", "tab:brown", "tab:olive")

MAX_FRAMES = 150


def _png(fig: Figure, *, fast: bool = False) -> bytes:
    """Render ``fig`` to PNG bytes (no timestamp, so the bytes repeat run to run).

    The figure is removed from pyplot (so Jupyter does not show it a second time) but stays usable:
    a draw function may return the same figure again with its artists updated. ``fast`` (for live
    frames, which never leave the machine) renders with Agg straight into a PNG of low compression,
    skipping savefig's extra work: about 40 % less time for a small figure.
    """
    if getattr(fig.canvas, "manager", None) is not None:   # a pyplot figure: not shown a second time
        plt.close(fig)
    buf = io.BytesIO()
    if fast:
        canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
        canvas.draw()
        PIL.Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).save(
            buf, format="png", compress_level=1)
    else:
        fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


#: The few words viz puts around a caption (the live figure's text alternative, its Reset button,
#: its timing, the animation player's slider), in the caption's language (:func:`caption_language`):
#: the Chinese edition's notebooks carry Chinese captions (tools/i18n.py translates the literal
#: ``caption="..."`` of every code cell), and so get Chinese words around them. Terms from
#: shared/glossary-zh.md.
UI_TEXT: dict[str, dict[str, str]] = {
    "en": {"figure": ". Figure: ", "reset": "Reset", "reset_tip": "Back to the starting values",
           "drawn": " (drawn in {ms:.0f} ms)", "frame": ": frame"},
    "zh": {"figure": "。图：", "reset": "重置", "reset_tip": "回到初始值",
           "drawn": "（绘制用时 {ms:.0f} ms）", "frame": "：帧"},
}
#: The names of the controls of matplotlib's animation player (``to_jshtml``: buttons' ``title`` and
#: ``aria-label``, the repetition mode's labels) in Chinese, for an animation with a Chinese caption.
PLAYER_ZH: dict[str, str] = {
    "Decrease speed": "减速", "First frame": "第一帧", "Previous frame": "上一帧",
    "Play backwards": "倒放", "Pause": "暂停", "Play": "播放", "Next frame": "下一帧",
    "Last frame": "最后一帧", "Increase speed": "加速", "Repetition mode": "重复方式",
    "Once": "播放一次", "Loop": "循环", "Reflect": "往返"}
_CJK = re.compile("[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def caption_language(caption: str) -> str:
    """``"zh"`` when ``caption`` contains a Chinese character or full-width punctuation, else
    ``"en"``: the language of the words :data:`UI_TEXT` puts around it (explorations: chapter 1,
    {ref}`sec-explorations`)."""
    return "zh" if _CJK.search(caption) else "en"


def _player_words(page: str, source: str, target: str) -> str:
    """matplotlib's animation player ``page`` with its control names from language ``source`` put
    in language ``target`` (``"en"`` or ``"zh"``, :data:`PLAYER_ZH`)."""
    if source == target:
        return page
    pairs = PLAYER_ZH.items() if target == "zh" else ((zh, en) for en, zh in PLAYER_ZH.items())
    for old, new in pairs:
        page = page.replace(f'title="{old}" aria-label="{old}"', f'title="{new}" aria-label="{new}"')
        page = re.sub(rf'(<label for="_anim_radio\d_[0-9a-f]*">){re.escape(old)}</label>',
                      rf"\g<1>{new}</label>", page)
    return page


def _label_player(page: str, caption: str) -> str:
    """matplotlib's raw animation player with ``caption`` as the accessible name of its image and
    frame slider, and its controls named in the caption's language."""
    lang = caption_language(caption)
    page = _player_words(page, "en", lang)
    label = html.escape(caption)
    page = re.sub(r'<img id="', f'<img alt="{label}" id="', page)
    return re.sub(r'<input id="(_anim_slider[0-9a-f]*)" type="range"',
                  rf'<input id="\1" aria-label="{label}{UI_TEXT[lang]["frame"]}" type="range"', page)


def relabel(output: str, old: str, new: str) -> str:
    """The HTML ``output`` of :func:`explore` or :func:`animate` made with caption ``old``, as the
    same call makes it with caption ``new`` (the image's ``alt``, the animation slider's label, the
    player's controls in ``new``'s language): how tools/i18n.py gives a Chinese notebook the outputs
    a run of its translated code writes. Nothing else in ``output`` changes. Explorations and
    animations: chapter 1, {ref}`sec-explorations`."""
    lo, ln = caption_language(old), caption_language(new)
    eo, en = html.escape(old), html.escape(new)
    output = output.replace(f'alt="{eo}"', f'alt="{en}"')
    output = output.replace(f'aria-label="{eo}{UI_TEXT[lo]["frame"]}"',
                            f'aria-label="{en}{UI_TEXT[ln]["frame"]}"')
    if '<div class="animation">' in output:
        output = _player_words(output, lo, ln)
    return output


def relabel_widget_state(state: dict[str, Any], old: str, new: str) -> int:
    """Change, in place, a notebook's saved ipywidgets state (``metadata.widgets[...]["state"]``)
    from an exploration captioned ``old`` to one captioned ``new``, as a run with ``new`` saves
    it: the image's tooltip (:meth:`Exploration.alt`) and, when the language changes, the Reset
    buttons of explorations. Returns the number of values changed. Explorations: chapter 1,
    {ref}`sec-explorations`."""
    lo, ln = caption_language(old), caption_language(new)
    changed = 0
    for model in state.values():
        st = model.get("state", {})
        tip = st.get("tooltip")
        if not isinstance(tip, str):
            continue
        if model.get("model_name") == "ImageModel" and (
                tip == old or tip.startswith(old + UI_TEXT[lo]["figure"])):
            st["tooltip"] = new + (tip[len(old):].replace(UI_TEXT[lo]["figure"], UI_TEXT[ln]["figure"], 1)
                                   if tip != old else "")
            changed += 1
        elif (lo != ln and model.get("model_name") == "ButtonModel"
              and tip == UI_TEXT[lo]["reset_tip"] and st.get("description") == UI_TEXT[lo]["reset"]):
            st["tooltip"], st["description"] = UI_TEXT[ln]["reset_tip"], UI_TEXT[ln]["reset"]
            changed += 1
    return changed


def _script_json(obj: Any) -> str:
    """``obj`` as JSON that is safe inside an HTML ``<script>`` element: ``<``, ``>`` and ``&`` are
    written as \\u escapes, so no value (a caption, a choice's label) can close the element with
    ``</script>`` or open a comment; ``JSON.parse`` reads the same values back."""
    return (json.dumps(obj).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _decimals(x: float) -> int:
    """Decimal places of ``x`` as written (0.005 -> 3, 0.25 -> 2, 2 -> 0)."""
    exponent = decimal.Decimal(repr(float(x))).normalize().as_tuple().exponent
    return max(0, -int(exponent))


@dataclass(frozen=True)
class Range:
    """A parameter that takes any value from ``lo`` to ``hi`` in steps of ``step``.

    In Jupyter it is a slider over every value ``lo, lo + step, ..., hi`` (an integer slider when
    all three are integers, else a float slider); the figure is drawn for the value the learner
    sets. On the website, which has no kernel, the slider moves over a precomputed grid: ``static``
    evenly spaced values from ``lo`` to ``hi`` (snapped to the step), or the given list of values
    (kept exactly as given, also in Jupyter, even when they are not multiples of the step).
    ``default`` is the starting value (default: the middle value of the grid).
    ``explore(draw, eta=(0.005, 0.2, 0.005))`` is short for ``eta=Range(0.005, 0.2, 0.005)``.
    The values are ``lo + k * step`` for k = 0, 1, ..., floor((hi - lo) / step), rounded to the
    decimals of ``lo`` and ``step``. Introduced in chapter 1 ({ref}`sec-explorations`).
    """

    lo: float
    hi: float
    step: float
    static: int | Sequence[float] = 9
    default: float | None = None

    def __post_init__(self) -> None:
        for name in ("lo", "hi", "step"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
                raise TypeError(f"Range: {name} must be a finite number, got {value!r}")
        if not self.lo < self.hi:
            raise ValueError(f"Range: lo must be below hi, got lo={self.lo!r}, hi={self.hi!r}")
        if not 0 < self.step <= self.hi - self.lo:
            raise ValueError(f"Range: step must be positive and at most hi - lo = {self.hi - self.lo:g}, "
                             f"got {self.step!r}")
        if not isinstance(self.static, numbers.Integral):
            values = list(self.static)
            if not values:
                raise ValueError("Range: static must be a number of values (>= 2) or a non-empty list")
            for v in values:
                if not self.lo <= v <= self.hi:
                    raise ValueError(f"Range: static value {v!r} is outside [{self.lo:g}, {self.hi:g}]")
        elif self.static < 2:
            raise ValueError("Range: static must be at least 2 values for the website's slider, "
                             f"got {self.static}")
        if self.default is not None and not self.lo <= self.default <= self.hi:
            raise ValueError(f"Range: default {self.default!r} is outside [{self.lo:g}, {self.hi:g}]")

    @property
    def integer(self) -> bool:
        """True when lo, hi and step are all integers: the values are then ints."""
        return all(isinstance(v, numbers.Integral) for v in (self.lo, self.hi, self.step))

    @property
    def decimals(self) -> int:
        """Decimal places that show every value of the range exactly."""
        return max(_decimals(self.lo), _decimals(self.step))

    @property
    def count(self) -> int:
        """How many values the range has: lo, lo + step, ..., up to hi."""
        return int(math.floor((self.hi - self.lo) / self.step + 1e-9)) + 1

    def value(self, k: int) -> float:
        """The k-th value, lo + k step, rounded to the range's decimals (so 0.1 + 2 x 0.1 is 0.3)."""
        if self.integer:
            return int(self.lo + k * self.step)
        return round(self.lo + k * self.step, self.decimals)

    def snap(self, x: float) -> float:
        """The value of the range nearest to ``x`` (clipped to [lo, hi])."""
        k = min(max(round((float(x) - self.lo) / self.step), 0), self.count - 1)
        return self.value(k)

    def grid(self) -> list[float]:
        """The website's values: ``static`` evenly spaced values snapped to the step, or the list given."""
        if not isinstance(self.static, numbers.Integral):
            return list(self.static)
        n = min(int(self.static), self.count)
        ks = sorted({round(i * (self.count - 1) / (n - 1)) for i in range(n)})
        return [self.value(k) for k in ks]

    def start(self) -> float:
        """The starting value: ``default`` (snapped), else the middle value of the grid."""
        grid = self.grid()
        return self.nearest(self.default) if self.default is not None else grid[len(grid) // 2]

    def nearest(self, x: float) -> float:
        """``x`` itself if it is one of the grid's values (within 1e-9 relative), else :meth:`snap` (x)."""
        for v in self.grid():
            if math.isclose(float(x), float(v), rel_tol=1e-9, abs_tol=1e-12):
                return v
        return self.snap(x)


def _as_param(name: str, spec: Any) -> Range | list[Any]:
    """A Range (a continuous or integer parameter) or a list of values (a choice)."""
    if isinstance(spec, Range):
        return spec
    if isinstance(spec, tuple) and len(spec) == 3 and all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) for v in spec):
        return Range(*spec)
    if isinstance(spec, (str, bytes)) or not isinstance(spec, Iterable):
        raise TypeError(f"explore(): parameter {name!r} must be a list of values, a tuple (lo, hi, step) "
                        f"or a viz.Range, got {spec!r}")
    values = list(spec)
    if not values:
        raise ValueError(f"explore(): parameter {name!r} has no values; give a list of at least one")
    return values


class Exploration:
    """An interactive figure ``draw(**values)``: live in Jupyter, precomputed on the website.

    In a Jupyter kernel (:meth:`widget`) every parameter gets a slider; the figure is drawn for the
    values the learner sets, in a background thread that always draws the latest values and skips
    those a dragged slider has already left behind. A *Reset* button restores the starting values
    and a line under the sliders shows the values drawn and how long drawing took. On the static
    website (:meth:`to_html`, an element of class ``nnviz-explore``) one frame per combination of
    the grid values (attribute ``grid``) is drawn in advance and plain HTML sliders switch between
    them. Made by :func:`explore`; how to use both versions: chapter 1, {ref}`sec-explorations`.

    Every display of one exploration shows the same live widget (its views move together), drawn by
    one background thread; drawing and rendering hold the exploration's lock, so a figure that
    ``draw`` reuses is never drawn for two sets of values at once (the live thread and the kernel's
    main thread, e.g. :meth:`render`).
    """

    def __init__(self, draw: Callable[..., Any], params: dict[str, Any], caption: str = "") -> None:
        if not params:
            raise ValueError("explore() needs at least one parameter, e.g. explore(draw, w=[0, 1, 2]) "
                             "or explore(draw, w=(0.0, 2.0, 0.1))")
        self.draw = draw
        self.names = list(params)
        self.params: dict[str, Range | list[Any]] = {n: _as_param(n, s) for n, s in params.items()}
        self.grid: dict[str, list[Any]] = {
            n: (p.grid() if isinstance(p, Range) else p) for n, p in self.params.items()}
        n = math.prod(len(v) for v in self.grid.values())
        if n > MAX_FRAMES:
            raise ValueError(f"explore(): {n} frames requested for the website (the product of the value "
                             f"counts); at most {MAX_FRAMES}: use fewer values per parameter "
                             "(Range(..., static=k) for a range)")
        self.caption = caption or "Interactive figure: " + ", ".join(self.names)
        #: the language of the words around the caption (:data:`UI_TEXT`)
        self.lang = caption_language(self.caption)
        self.defaults: dict[str, Any] = {
            n: (p.start() if isinstance(p, Range) else p[len(p) // 2]) for n, p in self.params.items()}
        self._frames: list[bytes] | None = None
        self._lock = threading.RLock()      # held while a figure is drawn and rendered
        self._box: Any = None               # the live widget, made once (see widget())
        self.live: _Live | None = None
        # the first frame is drawn now, so a draw() that fails fails when the cell runs
        self._first, self._first_title = self._render(self.defaults, fast=False)

    # ------------------------------------------------------------------ values and drawing
    @property
    def values(self) -> dict[str, list[Any]]:
        """The grid values of every parameter (the website's slider positions)."""
        return self.grid

    @property
    def start(self) -> list[int]:
        """Positions of the starting values in the grid (nearest grid value for a Range)."""
        out = []
        for name in self.names:
            grid, want = self.grid[name], self.defaults[name]
            if isinstance(self.params[name], Range):
                out.append(min(range(len(grid)), key=lambda i: abs(grid[i] - want)))
            else:
                out.append(next(i for i, v in enumerate(grid) if v is want or _same(v, want)))
        return out

    def check(self, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` completed with the defaults and checked: a Range value is snapped to its step."""
        unknown = set(values) - set(self.names)
        if unknown:
            raise ValueError(f"explore(): unknown parameter(s) {sorted(unknown)}; "
                             f"the parameters are {self.names}")
        out = {}
        for name in self.names:
            spec, v = self.params[name], values.get(name, self.defaults[name])
            if isinstance(spec, Range):
                if not spec.lo - spec.step / 2 <= v <= spec.hi + spec.step / 2:
                    raise ValueError(f"explore(): {name} = {v!r} is outside its range "
                                     f"[{spec.lo:g}, {spec.hi:g}]")
                v = spec.nearest(v)
            elif not any(_same(v, c) for c in spec):
                raise ValueError(f"explore(): {name} = {v!r} is not one of its values {spec!r}")
            out[name] = v
        return out

    def figures(self, **values: Any) -> Iterator[Figure]:
        """The figure(s) ``draw`` makes for ``values``: one, or several if ``draw`` is a generator
        (a figure that improves, e.g. a network shown as it trains: the last one is the result)."""
        result = self.draw(**self.check(values))
        items = result if isinstance(result, Iterator) else (result,)
        try:
            for fig in items:
                if not isinstance(fig, Figure):
                    raise TypeError("explore(): draw() must return a matplotlib Figure (or yield Figures), "
                                    f"got {type(fig).__name__}")
                yield fig
        finally:   # a generator draw abandoned for newer values is closed now, not when collected
            close = getattr(items, "close", None)
            if close is not None:
                close()

    def _render(self, values: dict[str, Any], *, fast: bool) -> tuple[bytes, str]:
        """PNG bytes and titles of the (last) figure for ``values``, holding the exploration's lock."""
        png, title = b"", ""
        with self._lock:
            for fig in self.figures(**values):
                title, png = _titles(fig), _png(fig, fast=fast)
        return png, title

    def render(self, *, fast: bool = False, **values: Any) -> bytes:
        """PNG bytes of the (last) figure for ``values`` (defaults for the parameters left out)."""
        return self._render(values, fast=fast)[0]

    def alt(self, title: str = "") -> str:
        """The live image's text alternative: the caption, then the figure's own titles (which state
        the values it shows)."""
        return f"{self.caption}{UI_TEXT[self.lang]['figure']}{title}" if title else self.caption

    @property
    def frames(self) -> list[bytes]:
        """The website's frames: one PNG per combination of grid values, in row-major order."""
        if self._frames is None:
            self._frames = [self.render(**dict(zip(self.names, combo)))
                            for combo in itertools.product(*self.grid.values())]
        return self._frames

    def _index(self, positions: Sequence[int]) -> int:
        i = 0
        for name, pos in zip(self.names, positions):
            i = i * len(self.grid[name]) + pos
        return i

    def __repr__(self) -> str:
        sizes = " x ".join(str(len(v)) for v in self.grid.values())
        return (f"Exploration({', '.join(self.names)}: live in Jupyter; "
                f"{sizes} = {math.prod(len(v) for v in self.grid.values())} frames on the website)")

    # ------------------------------------------------------------------ the website's version
    def to_html(self) -> str:
        """The static version: an <img> and one range input per parameter, plain JavaScript."""
        digest = hashlib.sha1(b"".join(self.frames)).hexdigest()[:12]
        uid = f"nnviz-{digest}"
        frames = [base64.b64encode(f).decode("ascii") for f in self.frames]
        labels = {name: [_fmt(v) for v in vals] for name, vals in self.grid.items()}
        start = self.start
        controls = []
        for k, name in enumerate(self.names):
            n = len(self.grid[name])
            controls.append(
                f'<label class="nnviz-control">{html.escape(name)} '
                f'<input type="range" min="0" max="{n - 1}" step="1" value="{start[k]}" '
                f'data-param="{html.escape(name)}" aria-label="{html.escape(name)}" '
                f'aria-valuetext="{html.escape(labels[name][start[k]])}"> '
                f'<output>{html.escape(labels[name][start[k]])}</output></label>')
        first = frames[self._index(start)]
        data = _script_json({"names": self.names, "sizes": [len(self.grid[n]) for n in self.names],
                             "labels": labels, "frames": frames})
        script = (
            "(function(){var root=document.getElementById('%s');"
            "var d=JSON.parse(root.querySelector('script[type=\"application/json\"]').textContent);"
            "var inputs=root.querySelectorAll('input[type=range]');var img=root.querySelector('img');"
            "function show(){var i=0;for(var k=0;k<inputs.length;k++){var p=+inputs[k].value;"
            "i=i*d.sizes[k]+p;var t=d.labels[d.names[k]][p];inputs[k].nextElementSibling.textContent=t;"
            "inputs[k].setAttribute('aria-valuetext',t);}"
            "img.src='data:image/png;base64,'+d.frames[i];}"
            "for(var k=0;k<inputs.length;k++){inputs[k].addEventListener('input',show);}})();" % uid)
        return (f'<div class="nnviz-explore" id="{uid}">'
                '<div class="nnviz-controls" style="display:flex;flex-wrap:wrap;gap:1em">'
                f'{"".join(controls)}</div>'
                f'<img style="max-width:100%" alt="{html.escape(self.caption)}" '
                f'src="data:image/png;base64,{first}">'
                f'<script type="application/json">{data}</script><script>{script}</script></div>')

    # ------------------------------------------------------------------ the live version
    def widget(self) -> Any:
        """The live version: a slider per parameter, a Reset button, the values drawn, the figure.

        Float ranges get a FloatSlider, integer ranges an IntSlider, lists a SelectionSlider. Every
        change is handed to a background thread that draws the latest values (class ``_Live``). The
        widget is made once: every later call (every display) returns the same one, so all views of
        an exploration show the same values and one thread draws them. The figure's text
        alternative (:meth:`alt`: the caption and the figure's titles) is the image's ``title``.
        """
        if self._box is not None and getattr(self._box, "comm", None) is not None:
            return self._box
        import ipywidgets as widgets
        import traitlets

        controls: dict[str, Any] = {}
        for name, spec in self.params.items():
            start = self.defaults[name]
            common = dict(description=name, continuous_update=True,
                          style={"description_width": "initial"})
            if isinstance(spec, Range) and spec.integer:
                controls[name] = widgets.IntSlider(min=spec.lo, max=spec.hi, step=spec.step, value=start,
                                                   **common)
            elif isinstance(spec, Range):
                controls[name] = widgets.FloatSlider(min=spec.lo, max=spec.hi, step=spec.step, value=start,
                                                     readout_format=f".{spec.decimals}f", **common)
            else:
                options = [(_fmt(v), i) for i, v in enumerate(spec)]
                pos = next(i for i, v in enumerate(spec) if _same(v, start))
                controls[name] = widgets.SelectionSlider(options=options, value=pos, **common)
        class DescribedImage(widgets.Image):
            # ipywidgets' view puts ``tooltip`` in the <img>'s title attribute (its accessible name)
            # only when ``description`` is empty; Image has no description, so it gets an empty one
            description = traitlets.Unicode("").tag(sync=True)

        image = DescribedImage(value=self._first, format="png", tooltip=self.alt(self._first_title),
                               layout=widgets.Layout(max_width="100%"))
        status = widgets.HTML(value=self._status(self.defaults, None),
                              layout=widgets.Layout(min_width="12em"))
        status.add_class("nnviz-status")
        image.add_class("nnviz-image")
        words = UI_TEXT[self.lang]
        reset = widgets.Button(description=words["reset"], icon="undo", tooltip=words["reset_tip"],
                               layout=widgets.Layout(width="auto"))
        if self.live is not None:     # a widget closed since: its thread stops, a new one draws
            self.live.stop()
        live = _Live(self, image, status)
        self.live = live

        def current() -> dict[str, Any]:
            out = {}
            for name, w in controls.items():
                spec = self.params[name]
                out[name] = w.value if isinstance(spec, Range) else spec[w.value]
            return out

        def changed(_change: Any = None) -> None:
            live.request(current())

        def on_reset(_button: Any = None) -> None:
            for name, w in controls.items():
                spec, start = self.params[name], self.defaults[name]
                w.value = start if isinstance(spec, Range) else next(
                    i for i, v in enumerate(spec) if _same(v, start))

        for w in controls.values():
            w.observe(changed, names="value")
        reset.on_click(on_reset)
        bar = widgets.HBox([*controls.values(), reset], layout=widgets.Layout(flex_flow="row wrap"))
        box = widgets.VBox([bar, status, image])
        box.add_class("nnviz-live")
        self._box = box
        return box

    def _status(self, values: dict[str, Any], ms: float | None, note: str = "") -> str:
        """The line above the live figure: the values drawn and how long it took (the figure's own
        titles are the image's text alternative, :meth:`alt`)."""
        shown = ", ".join(f"{n} = {_fmt(v)}" for n, v in values.items())
        timing = "" if ms is None else UI_TEXT[self.lang]["drawn"].format(ms=ms)
        return (f'<span class="nnviz-values">{html.escape(shown)}</span>'
                f'{html.escape(timing)}{html.escape(note)}')


    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle: dict[str, Any] = {"text/plain": repr(self), "text/html": self.to_html()}
        try:
            live = self.widget()._repr_mimebundle_(include=include, exclude=exclude)
        except Exception:  # no ipywidgets, or not in a kernel: the HTML version still works
            live = None
        if live:
            bundle.update({k: v for k, v in live.items() if k != "text/plain"})
        return bundle


def _same(a: Any, b: Any) -> bool:
    """a == b for a choice's values, also when they are NumPy arrays or tuples of them."""
    try:
        return bool(a is b or a == b)
    except ValueError:  # arrays: elementwise ==
        return bool(np.array_equal(a, b))


def _titles(fig: Figure) -> str:
    """The titles the figure shows (suptitle, then every axes' title), for the status line."""
    texts = [fig._suptitle.get_text()] if getattr(fig, "_suptitle", None) is not None else []
    for ax in fig.axes:
        texts += [ax.get_title(loc) for loc in ("left", "center", "right")]
    return " | ".join(t for t in texts if t)


class _Live:
    """Draws an exploration's figure for the latest requested values in a background thread.

    :meth:`request` only records the values and wakes the thread, so the kernel keeps reading the
    slider's messages while a figure is being drawn; the thread then draws the *latest* values, and
    the values it never got to are skipped (the figure keeps up with a dragged slider instead of
    replaying every position). A generator ``draw`` shows each figure it yields and is abandoned
    (closed) as soon as newer values arrive. The drawing holds the exploration's lock, which
    :meth:`Exploration.render` holds too: a figure that ``draw`` reuses is drawn for one set of
    values at a time.
    """

    def __init__(self, exploration: Exploration, image: Any, status: Any) -> None:
        self.exploration, self.image, self.status = exploration, image, status
        self._cond = threading.Condition()
        self._wanted: dict[str, Any] | None = None
        self._serial = 0       # requests so far
        self._done = 0         # serial of the last request drawn (or skipped for a newer one)
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._asked = time.perf_counter()
        self.drawn = 0         # figures drawn (the tests and bench/explore.py read these)
        self.first_ms: float | None = None   # latest request -> its first figure's PNG shown
        self.last_ms: float | None = None    # latest request -> its last figure's PNG shown
        self.cpu_ms: float | None = None     # CPU time of the drawing thread for the first figure
        self.error: BaseException | None = None
        self.title = ""                      # the titles of the figure shown last

    def request(self, values: dict[str, Any]) -> None:
        with self._cond:
            if self._stopped:
                return
            self._wanted, self._serial = dict(values), self._serial + 1
            self._asked = time.perf_counter()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="nnviz-live", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def stop(self) -> None:
        """End the thread (after the figure it is drawing); later requests are ignored."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until every request so far is drawn; False if ``timeout`` seconds pass first."""
        with self._cond:
            return self._cond.wait_for(lambda: self._done >= self._serial, timeout)

    def _newer(self, serial: int) -> bool:
        with self._cond:
            return self._serial != serial or self._stopped

    def _run(self) -> None:
        e = self.exploration
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._wanted is not None or self._stopped)
                if self._stopped:
                    self._done = self._serial
                    self._cond.notify_all()
                    return
                values, serial, self._wanted = self._wanted, self._serial, None
                started = self._asked
            cpu = time.thread_time()
            try:
                checked = e.check(values)
                with e._lock:
                    figures = e.figures(**checked)
                    try:
                        for k, fig in enumerate(figures):
                            title = _titles(fig)
                            png = _png(fig, fast=True)
                            self.last_ms = (time.perf_counter() - started) * 1e3
                            if k == 0:
                                self.first_ms = self.last_ms
                                self.cpu_ms = (time.thread_time() - cpu) * 1e3
                            self.image.value = png
                            self.image.tooltip = e.alt(title)
                            self.title = title
                            self.status.value = e._status(checked, self.last_ms)
                            self.drawn += 1
                            if self._newer(serial):
                                break
                    finally:
                        figures.close()
                self.error = None
            except Exception as exc:  # show the learner what went wrong instead of a frozen figure
                self.error = exc
                self.status.value = e._status(values, None, f": {type(exc).__name__}: {exc}")
            with self._cond:
                self._done = max(self._done, serial)
                self._cond.notify_all()


def explore(draw: Callable[..., Any], *, caption: str = "", **params: Any) -> Exploration:
    """An interactive figure ``draw(**values)``: live sliders in Jupyter, precomputed on the website.

    ``draw`` takes one keyword argument per parameter and returns a matplotlib ``Figure`` (or, to
    show a figure that improves over time such as a network training, yields several). Each
    parameter is one of

    * ``viz.Range(lo, hi, step, static=9, default=None)``, or the tuple ``(lo, hi, step)``: any value
      from ``lo`` to ``hi`` in steps of ``step`` (ints when all three are ints). Jupyter shows a
      float or integer slider and draws the value set; the website gets ``static`` evenly spaced
      values (or the list given as ``static``);
    * a list of values (numbers, strings, tuples...): a choice among them, the same in both places.

    For example ``explore(draw, eta=(0.005, 0.2, 0.005), rule=["plain", "momentum"])``. In Jupyter
    the figure is drawn when a slider moves, in a background thread that skips values a dragged
    slider has left behind, with a Reset button and the values drawn shown above the figure. On
    the website one frame per combination of grid values is drawn when the cell runs (at most 150
    frames in all). To be quick, ``draw`` may return the same figure every time with its artists
    updated (``set_data``...) instead of building a new one; make that figure with
    ``matplotlib.figure.Figure()``, not ``plt.subplots``, as the live version draws in a background
    thread (see the module's notes). ``caption`` is the image's alternative text (in Jupyter
    followed by the figure's titles); the words the widget adds (Reset, the timing) are in the
    caption's language (:data:`UI_TEXT`), so a Chinese caption gets a Chinese widget. Introduced
    in chapter 1 ({ref}`sec-explorations`).
    """
    return Exploration(draw, params, caption)


def animate(fig: Figure, update: Callable[[int], Any], frames: int | Sequence[Any], *,
            interval: int = 200, caption: str = "Animation") -> Any:
    """A self-contained JavaScript player for ``FuncAnimation(fig, update, frames)``.

    Works in Jupyter and on the static website alike. The player's frame slider and image get
    ``caption`` as their accessible label, and its controls are named in the caption's language
    (:data:`UI_TEXT`, :data:`PLAYER_ZH`). The figure is closed, so it is not shown twice.
    """
    from IPython.display import HTML

    anim = FuncAnimation(fig, update, frames=frames, interval=interval)
    page = anim.to_jshtml(default_mode="once")
    plt.close(fig)
    return HTML(_label_player(page, caption))


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
    segments, colors, widths = [], [], []
    for k in range(len(sizes) - 1):
        y0, y1 = ys(k), ys(k + 1)
        for i, ya in enumerate(y0):
            for j, yb in enumerate(y1):
                if weights is not None:
                    w = weights[k][i, j]
                    colors.append(POSITIVE if w >= 0 else NEGATIVE)
                    widths.append(0.3 + 2.5 * abs(w) / (wmax or 1.0))
                else:
                    colors.append("0.6")
                    widths.append(0.8)
                segments.append([(k, ya), (k + 1, yb)])
    # one collection for all connections and one scatter for all neurons: quick to draw and redraw
    ax.add_collection(LineCollection(segments, colors=colors, linewidths=widths, alpha=0.7, zorder=1))
    xy = np.array([(k, y) for k in range(len(sizes)) for y in ys(k)])
    ax.scatter(xy[:, 0], xy[:, 1], s=260 if top <= 6 else 140, color="white", edgecolor="black", zorder=2)
    for k, n in enumerate(sizes):
        if n > shown[k]:
            ax.text(k, min(ys(k)) - 0.8, f"... {n} in all", ha="center", fontsize=8)
        role = "input" if k == 0 else ("output" if k == len(sizes) - 1 else f"hidden {k}")
        ax.text(k, max(ys(k)) + 0.8, f"{role}\n({n})", ha="center", va="bottom", fontsize=9)
    ax.set_xlim(-0.5, len(sizes) - 0.5)
    ax.set_ylim(-0.6 - (1.0 if max(sizes) > max_neurons else 0.0), top - 1 + 1.6)
    ax.axis("off")
    return fig


class DecisionMap:
    """The shading :func:`decision_map` drew on one axes, ready to be redrawn for another classifier.

    Attributes: ``image`` (the matplotlib ``AxesImage``), ``points`` (the (N, 2) grid of pixel
    centres the classifier is evaluated at, row by row from the bottom), ``shape`` (rows, columns),
    ``probabilities`` (the last values shown, of that shape), ``boundary`` (the p = 0.5 contour
    set, or None when the classifier does not cross 0.5 in the extent) and ``colorbar`` (or None).
    Decision regions: chapter 2, {ref}`sec-linear-classifier`.
    """

    def __init__(self, ax: Any, extent: tuple[float, float, float, float], *,
                 bands: int | None, alpha: float, boundary: bool, zorder: float) -> None:
        self.ax, self.extent = ax, extent
        self.show_boundary = boundary
        norm = (matplotlib.colors.BoundaryNorm(np.linspace(0.0, 1.0, bands + 1), CLASS_CMAP.N)
                if bands else matplotlib.colors.Normalize(0.0, 1.0))
        self.probabilities = np.full((2, 2), 0.5)     # until the grid is known (see _grid)
        self.image = ax.imshow(self.probabilities, extent=extent, origin="lower", cmap=CLASS_CMAP, norm=norm,
                               alpha=alpha, interpolation="nearest", zorder=zorder, aspect=ax.get_aspect())
        self.boundary: Any = None
        self.colorbar: Any = None

    def _grid(self, shape: tuple[int, int]) -> None:
        """Evaluate at the centres of a grid of ``shape`` = (rows, columns) pixels."""
        x0, x1, y0, y1 = self.extent
        rows, cols = self.shape = shape
        xs = x0 + (np.arange(cols) + 0.5) * (x1 - x0) / cols      # the centre of every pixel
        ys = y0 + (np.arange(rows) + 0.5) * (y1 - y0) / rows
        self._gx, self._gy = np.meshgrid(xs, ys)
        self.points = np.column_stack([self._gx.ravel(), self._gy.ravel()])

    def update(self, predict: Callable[[np.ndarray], Any]) -> np.ndarray:
        """Shade the map for ``predict`` instead (the image's data and the p = 0.5 line are replaced,
        nothing else is redrawn); returns the probabilities shown, of shape ``shape``."""
        p = np.asarray(predict(self.points), dtype=float)
        if p.size != len(self.points):
            raise ValueError(f"decision_map: predict must return one probability of class 1 per point "
                             f"((N,) or (N, 1) for the N = {len(self.points)} points of an (N, 2) array), "
                             f"got shape {p.shape}")
        p = p.reshape(self.shape)
        if not np.all((p >= 0) & (p <= 1)):     # also NaN
            bad = p[~((p >= 0) & (p <= 1))][0]
            raise ValueError(f"decision_map: predict must return probabilities in [0, 1], got {bad!r} "
                             "(a score or a logit? pass a sigmoid or softmax output)")
        self.probabilities = p
        self.image.set_data(p)
        if self.boundary is not None:
            self.boundary.remove()
            self.boundary = None
        if self.show_boundary and p.min() < 0.5 < p.max():
            # the line is traced on every k-th point (about 80 a side: smooth, and quick to redraw)
            k = max(1, min(self.shape) // 80)
            sub = (slice(None, None, k), slice(None, None, k))
            self.boundary = self.ax.contour(self._gx[sub], self._gy[sub], p[sub], levels=[0.5], colors="k",
                                            linewidths=1.2, zorder=self.image.get_zorder() + 0.5)
        return p


def decision_map(ax: Any, predict: Callable[[np.ndarray], Any], extent: Sequence[float], *,
                 resolution: int | tuple[int, int] | None = None, bands: int | None = 10, alpha: float = 0.45,
                 boundary: bool = True, colorbar: bool | dict[str, Any] = False,
                 label: str = "probability of class 1", zorder: float = 0) -> DecisionMap:
    """Shade ``ax`` over ``extent = (x0, x1, y0, y1)`` by the probability of class 1 a classifier gives.

    ``predict`` maps an (N, 2) array of points to N probabilities p(class 1) in [0, 1] (shape (N,)
    or (N, 1)): for example an :class:`nnlib.MLP` with one sigmoid output, or
    ``lambda P: sigmoid(P @ w + b)``. The shading is a nearest-pixel image in ``CLASS_CMAP``
    (orange for class 0, white at p = 0.5, blue for class 1), cut into ``bands`` equal bands of p
    (None: continuous), with a black p = 0.5 line (the decision boundary of the rule "class 1 when
    p >= 0.5") unless ``boundary=False``. The classifier is evaluated once per pixel centre: by
    default one point per pixel of the axes as the figure is now (``resolution`` = columns, or
    (columns, rows), to choose), so the picture is as sharp as a contour plot and is as light in a
    page, and is redrawn quickly. ``colorbar=True`` (or a dict of ``Figure.colorbar`` options, e.g.
    ``{"ax": axes}`` for one bar beside several maps) adds a colour bar labelled ``label``. The
    axes keep their aspect; their limits become ``extent`` (and stay). Points drawn afterwards (``scatter``)
    lie above the shading (``zorder`` 0). Returns a :class:`DecisionMap`, whose ``update(predict)``
    redraws it for another classifier (a slider, a training epoch). Decision regions: chapter 2,
    {ref}`sec-linear-classifier`.
    """
    try:
        x0, x1, y0, y1 = (float(v) for v in extent)
    except (TypeError, ValueError):
        raise ValueError("decision_map: extent must be four numbers (x0, x1, y0, y1), "
                         f"got {extent!r}") from None
    if not all(map(math.isfinite, (x0, x1, y0, y1))) or not (x0 < x1 and y0 < y1):
        raise ValueError(f"decision_map: extent (x0, x1, y0, y1) must be finite with x0 < x1 and y0 < y1, "
                         f"got {tuple(extent)!r}")
    if bands is not None and (isinstance(bands, bool) or not isinstance(bands, numbers.Integral)
                              or bands < 2):
        raise ValueError(f"decision_map: bands must be an integer >= 2 or None (continuous), got {bands!r}")
    shape: tuple[int, int] | None = None
    if isinstance(resolution, numbers.Integral) and not isinstance(resolution, bool):
        shape = (round(int(resolution) * (y1 - y0) / (x1 - x0)), int(resolution))
    elif resolution is not None:
        try:
            cols, rows = (int(v) for v in resolution)  # type: ignore[union-attr]
        except (TypeError, ValueError):
            raise ValueError("decision_map: resolution must be None, a number of columns or (columns, rows), "
                             f"got {resolution!r}") from None
        shape = (rows, cols)
    if shape is not None and min(shape) < 2:
        raise ValueError("decision_map: resolution must be at least 2 x 2 points, "
                         f"got {shape[1]} x {shape[0]}")
    shading = DecisionMap(ax, (x0, x1, y0, y1), bands=bands, alpha=alpha, boundary=boundary, zorder=zorder)
    if colorbar:    # first, as it takes its room from the axes
        options = {"ax": ax, "fraction": 0.046, "label": label}
        options.update(colorbar if isinstance(colorbar, dict) else {})
        shading.colorbar = ax.figure.colorbar(shading.image, **options)
    ax.set_xlim(x0, x1)       # fixed: points scattered afterwards do not widen the view
    ax.set_ylim(y0, y1)
    if shape is None:
        ax.apply_aspect()                     # the box as drawn (an equal aspect narrows it)
        box = ax.get_window_extent()          # the axes' size in pixels, colour bar made
        shape = (max(2, round(box.height)), max(2, round(box.width)))
    shading._grid(shape)
    shading.update(predict)
    return shading
