#!/usr/bin/env python3
"""Fetch the website's JavaScript with `npm pack` and lay it out under .vendor/ (git-ignored).

The packages and their pinned versions and sha512 integrities are in tools/js-packages.txt.
`npm pack NAME@VERSION` downloads one tarball from the npm registry (no `npm install`, no
node_modules, no install scripts); the tarball is checked against the pinned integrity and the few
files the site needs are copied:

  .vendor/site/_vendor/requirejs/require.js          -> _build/html/_vendor/...  (html_extra_path)
  .vendor/site/_vendor/html-manager/embed-amd.js (+ its font files)
  .vendor/axe/axe.min.js                              (browser tests only, never in the site)

Not under _static/: Jupyter Book would add every .js file there to every page. _config.yml points
myst-nb's `nb_ipywidgets_js` at the _vendor/ copies, so no page asks a CDN for them.

Usage: python3 tools/vendor_js.py   (standard library only; re-runs offline once the tarballs are in
.vendor/npm/). Run by `make vendor`, which `make book` and `make test` depend on.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "tools" / "js-packages.txt"
VENDOR = ROOT / ".vendor"
NPM_DIR = VENDOR / "npm"
SITE_DIR = VENDOR / "site" / "_vendor"  # html_extra_path: .vendor/site -> _build/html/
AXE_DIR = VENDOR / "axe"
STAMP = VENDOR / ".stamp"

FONT_SUFFIXES = {".woff2", ".woff", ".ttf", ".eot", ".svg"}

# package name -> list of (path inside the tarball or a glob, destination directory)
LAYOUT = {
    "requirejs": [("package/require.js", SITE_DIR / "requirejs")],  # licence in its header
    "@jupyter-widgets/html-manager": [("package/dist/embed-amd.js", SITE_DIR / "html-manager"),
                                      ("package/dist/*fonts*", SITE_DIR / "html-manager"),
                                      ("package/dist/embed.js.LICENSE.txt", SITE_DIR / "html-manager")],
    "axe-core": [("package/axe.min.js", AXE_DIR),
                 ("package/LICENSE", AXE_DIR)],
}


def read_lock() -> list[tuple[str, str, str]]:
    pins = []
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version, integrity = line.split()
            pins.append((name, version, integrity))
    return pins


def sri(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def tarball_name(name: str, version: str) -> str:
    # npm pack's own naming: @scope/pkg@1.2.3 -> scope-pkg-1.2.3.tgz
    return f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"


def fetch(name: str, version: str, integrity: str) -> bytes:
    NPM_DIR.mkdir(parents=True, exist_ok=True)
    path = NPM_DIR / tarball_name(name, version)
    if path.exists() and sri(path.read_bytes()) == integrity:
        return path.read_bytes()
    if shutil.which("npm") is None:
        sys.exit("vendor_js: npm is needed to fetch the website's JavaScript "
                 "(Debian: apt-get install -y npm)")
    print(f"vendor_js: npm pack {name}@{version}", flush=True)
    out = subprocess.run(
        ["npm", "pack", f"{name}@{version}", "--pack-destination", str(NPM_DIR),
         "--ignore-scripts", "--json", "--loglevel=error"],
        check=True, capture_output=True, text=True, cwd=NPM_DIR).stdout
    info = json.loads(out)[0]
    path = NPM_DIR / info["filename"]
    data = path.read_bytes()
    if sri(data) != integrity:
        path.unlink()
        sys.exit(f"vendor_js: {name}@{version}: integrity mismatch\n  pinned {integrity}\n"
                 f"  got    {sri(data)}\n(edit tools/js-packages.txt only if you upgraded on purpose)")
    return data


def extract(name: str, data: bytes) -> list[Path]:
    written = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        for pattern, dest in LAYOUT.get(name, []):
            if pattern.endswith("*fonts*"):
                prefix = pattern[: -len("*fonts*")]
                chosen = [n for n in members if n.startswith(prefix) and "/" not in n[len(prefix):]
                          and Path(n).suffix in FONT_SUFFIXES]
            else:
                chosen = [pattern] if pattern in members else []
            if not chosen:
                sys.exit(f"vendor_js: {name}: {pattern} not found in the tarball")
            dest.mkdir(parents=True, exist_ok=True)
            for member in chosen:
                target = dest / Path(member).name
                target.write_bytes(tar.extractfile(members[member]).read())
                written.append(target)
    return written


def main() -> int:
    pins = read_lock()
    lock_hash = hashlib.sha256(LOCK.read_bytes() + Path(__file__).read_bytes()).hexdigest()
    for d in (VENDOR / "site", AXE_DIR):
        shutil.rmtree(d, ignore_errors=True)
    written = []
    for name, version, integrity in pins:
        written += extract(name, fetch(name, version, integrity))
    STAMP.write_text(lock_hash + "\n")
    total = sum(p.stat().st_size for p in written)
    print(f"vendor_js: {len(written)} files ({total / 1e6:.1f} MB) in {VENDOR.relative_to(ROOT)}/ "
          f"from {', '.join(f'{n}@{v}' for n, v, _ in pins)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
