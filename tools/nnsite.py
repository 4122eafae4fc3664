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


def setup(app):
    app.connect("doctree-resolved", _strip_cdn_stylesheets)
    # after every other html-page-context handler (they may still add scripts)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
