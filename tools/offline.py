"""What `make book` adds to the website for readers without this repository or without a network.

    python tools/offline.py wheel   # the course's wheel (nnlib, nngrade) -> _build/site-extra/downloads/
    python tools/offline.py zip     # the built site _build/html -> _build/inside-neural-networks.zip

``wheel`` builds from a copy of pyproject.toml, nnlib/ and nngrade/ in a temporary folder (so no
build/ or *.egg-info appears in the checkout), with pip, offline (``--no-index``) and without build
isolation (the setuptools already installed is used, nothing is downloaded). Older wheels in the
folder are removed: the site offers exactly one, the one whose name tools/install_hint.py writes.

``zip`` packs every file of the built site under one top folder, ``inside-neural-networks/``, in a
fixed order with fixed timestamps, so two builds of the same site give the same archive. Unpacked,
it is the website: ``cd inside-neural-networks && python3 -m http.server``, then open
http://127.0.0.1:8000/ (everything it loads is inside the folder).
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WHEEL_DIR = ROOT / "_build" / "site-extra" / "downloads"
SITE = ROOT / "_build" / "html"
ZIP = ROOT / "_build" / "inside-neural-networks.zip"
TOP = "inside-neural-networks"
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.nbi", "*.nbc", ".ipynb_checkpoints")


def build_wheel(out: Path = WHEEL_DIR) -> Path:
    """Build the wheel into `out` (emptied of older wheels first); return its path."""
    with tempfile.TemporaryDirectory(prefix="nnwheel-") as tmp:
        stage = Path(tmp) / "src"
        stage.mkdir()
        shutil.copy2(ROOT / "pyproject.toml", stage / "pyproject.toml")
        for package in ("nnlib", "nngrade"):
            shutil.copytree(ROOT / package, stage / package, ignore=IGNORE)
        dist = Path(tmp) / "dist"
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check",
                        "--no-deps", "--no-build-isolation", "--no-index", "-w", str(dist), str(stage)],
                       check=True)
        wheels = list(dist.glob("*.whl"))
        if len(wheels) != 1:
            raise RuntimeError(f"expected one wheel from pip, got {[w.name for w in wheels]}")
        out.mkdir(parents=True, exist_ok=True)
        for old in out.glob("*.whl"):
            old.unlink()
        target = out / wheels[0].name
        shutil.copy2(wheels[0], target)
    return target


def build_zip(site: Path = SITE, target: Path = ZIP) -> Path:
    """Zip `site` (every file, under TOP/) into `target`, reproducibly; return `target`."""
    if not (site / "index.html").is_file():
        raise FileNotFoundError(f"no built site at {site} (run `make book`)")
    files = sorted(p for p in site.rglob("*") if p.is_file())
    partial = target.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for path in files:
            name = f"{TOP}/{path.relative_to(site).as_posix()}"
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, path.read_bytes())
    partial.replace(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["wheel", "zip"])
    args = parser.parse_args(argv)
    if args.what == "wheel":
        path = build_wheel()
        print(f"==> The course's wheel: {path.relative_to(ROOT)} ({path.stat().st_size / 1e3:.0f} kB)")
    else:
        path = build_zip()
        print(f"==> The offline copy: {path.relative_to(ROOT)} ({path.stat().st_size / 1e6:.1f} MB; "
              f"unzip, cd {TOP}, python3 -m http.server, open http://127.0.0.1:8000/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
