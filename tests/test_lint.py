"""The linter's verdict is part of the test suite: ruff, configured in pyproject.toml."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_passes():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is not installed: it is pinned in requirements.txt (make setup installs it)"
    proc = subprocess.run([ruff, "check", "--no-cache", str(ROOT)], capture_output=True, text=True,
                          cwd=ROOT)
    assert proc.returncode == 0, "ruff check failed:\n" + proc.stdout + proc.stderr
