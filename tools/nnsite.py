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
"""
from __future__ import annotations

import re

from docutils import nodes

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


def setup(app):
    from numba import config as numba_config
    numba_config.DISABLE_JIT = True           # before autodoc imports nnlib.kernels (see 3. above)
    app.connect("autodoc-process-docstring", _process_docstring)
    app.connect("doctree-resolved", _strip_cdn_stylesheets)
    # after every other html-page-context handler (they may still add scripts)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
