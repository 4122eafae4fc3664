"""A small local Sphinx extension for the course website (loaded from _config.yml).

1. Sphinx 7.4 renders an inline <script> twice when an extension registers it with
   ``app.add_js_file(None, body=...)`` after the builder exists (sphinx-thebe and
   sphinx-togglebutton do): one copy has filename None, the other ''. sphinx-thebe's copy declares
   ``const THEBE_JS_URL``, so the second copy throws "Identifier 'THEBE_JS_URL' has already been
   declared" on every page. The duplicates are dropped just before each page is rendered.
2. matplotlib's ``to_jshtml`` animation player (nnlib.viz.animate) links Font Awesome 4 from a CDN
   for its button icons. The site must not request anything from another host, and the theme
   already ships Font Awesome (whose ``fa fa-play`` etc. draw those icons), so that <link> is
   removed from notebook outputs.
3. The API reference (api/*.md) is Sphinx's own ``sphinx.ext.autodoc`` over nnlib's docstrings.
   Those are reST with MyST cross-reference roles, written as in the chapters:
   ``{ref}`sec-delta``` links the entry to the section deriving it. autodoc parses docstrings as
   reST, so each MyST role ``{name}`target``` is rewritten to the reST role ``:name:`target``` on
   the way in (the documented ``autodoc-process-docstring`` event), and the formulas' ``|x|``
   (absolute values, not reST substitutions) are escaped. nnlib's compiled kernels are imported
   with Numba's JIT disabled in this process only (``numba.config.DISABLE_JIT``; the notebooks'
   kernels are other processes and still compile), so autodoc sees plain Python functions with
   their signatures and docstrings.
4. Repository and launch buttons come from one place, ``_config.yml``'s ``repository.url`` and
   ``launch_buttons``: with no repository URL there is no repository button (and a launch hub
   configured without one is an error, not a dead link); the launch menu says that launching
   needs the network, the rest of the site does not.
5. Downloads: the download menu of every page also offers the course's wheel (nnlib and nngrade,
   built by ``make book`` into ``_build/site-extra/downloads/``, copied into the site by
   ``html_extra_path``), and its links carry the ``download`` attribute, so the browser saves the
   ``.ipynb`` as a file instead of showing its JSON. A Markdown link to ``../downloads/NAME.whl``
   (the install line of each chapter, see tools/install_hint.py) becomes a plain link to it.
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from docutils import nodes
from sphinx.errors import ExtensionError

# where `make book` puts the wheel; html_extra_path copies _build/site-extra/ to the site's root
WHEEL_DIR = Path("_build") / "site-extra" / "downloads"
WHEEL_URL_DIR = "downloads"
LAUNCH_KEYS = ("binderhub_url", "jupyterhub_url", "colab_url", "deepnote_url", "jupyterlite_url")

CDN_STYLESHEET = re.compile(
    r"<link\b[^>]*\bhref=[\"']https?://[^\"']*(?:font-awesome|fontawesome)[^\"']*[\"'][^>]*>\s*",
    re.IGNORECASE)


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    seen, unique = set(), []
    for js in scripts:
        filename = getattr(js, "filename", js) or ""
        attributes = getattr(js, "attributes", {}) or {}
        key = (str(filename), tuple(sorted((k, str(v)) for k, v in attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique


def _strip_cdn_stylesheets(app, doctree, docname):
    for node in list(doctree.findall(nodes.raw)):
        if "html" not in node.get("format", "").split():
            continue
        text = node.astext()
        cleaned = CDN_STYLESHEET.sub("", text)
        if cleaned != text:
            node.replace(node.children[0], nodes.Text(cleaned)) if node.children else None
            node["nnsite_stripped_cdn"] = True


MYST_ROLE = re.compile(r"\{([a-z][a-z0-9:_-]*)\}`([^`]+)`")
LITERAL_OR_ROLE = re.compile(r"(``.+?``|:[a-z][a-z0-9:_-]*:`[^`]+`)")


def myst_roles_to_rest(text: str) -> str:
    """``{ref}`sec-x``` -> ``:ref:`sec-x```, and ``|`` escaped outside literals and roles."""
    text = MYST_ROLE.sub(r":\1:`\2`", text)
    parts = LITERAL_OR_ROLE.split(text)
    return "".join(p if i % 2 else p.replace("|", "\\|") for i, p in enumerate(parts))


def _process_docstring(app, what, name, obj, options, lines):
    lines[:] = [myst_roles_to_rest(line) for line in lines]


def configured_hosts(theme_options: dict, extra: list[str] | tuple[str, ...] = ()) -> set[str]:
    """The hosts a page of the site may link to: the repository's, the launch hubs', and `extra`."""
    urls = [theme_options.get("repository_url") or ""]
    launch = theme_options.get("launch_buttons") or {}
    urls += [str(launch.get(key) or "") for key in LAUNCH_KEYS]
    hosts = {urlsplit(u).hostname for u in urls if u}
    return {h for h in hosts if h} | set(extra)


def _repository_and_launch(app, config):
    options = config.html_theme_options
    repo = (options.get("repository_url") or "").strip()
    launch = options.get("launch_buttons") or {}
    hubs = [key for key in LAUNCH_KEYS if str(launch.get(key) or "").strip()]
    if not repo:
        if hubs:
            raise ExtensionError(
                f"_config.yml: launch_buttons sets {', '.join(hubs)} but repository.url is empty; "
                "a launch button opens the repository's notebook, so set repository.url "
                "(e.g. https://github.com/ORG/REPO) or leave the launch URLs empty")
        for button in ("repository", "issues", "edit_page", "source"):
            options[f"use_{button}_button"] = False
    else:
        options["use_repository_button"] = True


def _find_wheel(app) -> Path | None:
    wheels = sorted((Path(app.srcdir) / WHEEL_DIR).glob("*.whl"))
    return wheels[-1] if wheels else None


def _wheel_links(app, doctree):
    """Markdown links to ``../downloads/NAME.whl`` are plain links to the site's copy of the wheel."""
    from sphinx.addnodes import pending_xref

    for node in list(doctree.findall(pending_xref)):
        target = node.get("reftarget", "")
        if node.get("reftype") == "myst" and target.endswith(".whl") and f"{WHEEL_URL_DIR}/" in target:
            ref = nodes.reference("", "", *node.children, refuri=target, internal=False)
            ref["classes"].append("nnsite-wheel-link")
            node.replace_self(ref)


#: The download menu's wheel entry, in each edition's language (Sphinx's ``language``).
WHEEL_TEXT = {
    "en": {"text": "nnlib wheel",
           "tooltip": "The course's library (nnlib, nngrade), to run a downloaded notebook: "
                      "pip install {wheel}"},
    "zh_CN": {"text": "nnlib 安装包",
              "tooltip": "课程的库（nnlib、nngrade），运行下载的笔记本时需要：pip install {wheel}"},
}


def _download_and_launch_menus(app, pagename, templatename, context, doctree):
    buttons = context.get("header_buttons")
    if not isinstance(buttons, list):
        return
    wheel = _find_wheel(app)
    for group in buttons:
        if not isinstance(group, dict) or group.get("type") != "group":
            continue
        if group.get("label") == "download-buttons" and wheel is not None:
            language = getattr(getattr(app, "config", None), "language", None) or "en"
            text = WHEEL_TEXT.get(str(language), WHEEL_TEXT["en"])
            group["buttons"].insert(len(group["buttons"]) - 1 if group["buttons"] else 0, {
                "type": "link",
                "url": context["pathto"](f"{WHEEL_URL_DIR}/{wheel.name}", 1),
                "text": text["text"],
                "tooltip": text["tooltip"].format(wheel=wheel.name),
                "icon": "fas fa-box",
                "label": "download-wheel-button",
            })
        if group.get("label") == "launch-buttons":
            group["tooltip"] = "Launch online (needs the network; the rest of this site works offline)"
            for button in group.get("buttons", []):
                if button.get("text"):
                    button["tooltip"] = f"Launch on {button['text']}: an online service, needs the network"
                    button["text"] = f"{button['text']} (online)"


DOWNLOAD_ANCHOR = re.compile(
    r'(<a href="[^"]+") target="_blank"(\s+class="btn btn-sm btn-download-(?:source|notebook|wheel)-button)')


def _download_attribute(app, exception):
    """The download menu's links save a file (``download``) rather than open it in a new tab."""
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        new = DOWNLOAD_ANCHOR.sub(r"\1 download\2", text)
        new = new.replace('<a class="nnsite-wheel-link ', '<a download class="nnsite-wheel-link ')
        if new != text:
            page.write_text(new, encoding="utf-8")


def setup(app):
    from numba import config as numba_config
    numba_config.DISABLE_JIT = True           # before autodoc imports nnlib.kernels (see 3. above)
    app.add_config_value("nnsite_link_hosts", [], "html", [list])
    app.connect("config-inited", _repository_and_launch)
    app.connect("doctree-read", _wheel_links)
    app.connect("build-finished", _download_attribute)
    # after sphinx-book-theme's header buttons (priority 501)
    app.connect("html-page-context", _download_and_launch_menus, priority=600)
    app.connect("autodoc-process-docstring", _process_docstring)
    app.connect("doctree-resolved", _strip_cdn_stylesheets)
    # after every other html-page-context handler (they may still add scripts)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
