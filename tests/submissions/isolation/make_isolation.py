"""Regenerate the isolation submissions of sheet 1 (tests/submissions/isolation/).

Each one is the honest sheet-1 submission (tests/submissions/01_neuron/honest.ipynb) with an
attack put in front of its q1 answer cell. Run: .venv/bin/python tests/submissions/isolation/make_isolation.py
(after regenerating the 01_neuron submissions). Expected outcomes: tests/test_grader_isolation.py.

* honest_1..3   three honest students (full marks whatever runs beside them)
* busy_setsid   60 busy children, each in its own session, for 1 s (must not slow the others)
* out_flood     writes out/ as fast as it can for 4 s (2 GB in 5 s unbounded; stops at the disk
                limit), then deletes it (a full out/ is item 1's empty-result case)
* daemon        a double-forked background process in its own session (must be gone after the run)
* shm_writer    leaves its q1 answer in SysV shared memory (must neither outlive nor be shared)
* shm_reader    answers q1 from that shared memory if it can, else wrongly
* fork_memory   6 children x 200 MB under a 512 MB limit (bounded together, not per process)
"""
import textwrap
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
HONEST = HERE.parent / "01_neuron" / "honest.ipynb"

SHM = """
import ctypes
_libc = ctypes.CDLL(None, use_errno=True)
_libc.shmat.restype = ctypes.c_void_p
_KEY, _SIZE = 0x4E4E4732, 1 << 20
"""

ATTACKS = {
    "honest_1": "", "honest_2": "", "honest_3": "",
    "busy_setsid": """
        import os, signal, time
        _kids = []
        for _k in range(60):
            _pid = os.fork()
            if _pid == 0:
                os.setsid()       # own session: a scheduler autogroup of its own without cgroups
                os.nice(19)       # yields to this run's own main process, not to other runs
                while True:
                    pass
            _kids.append(_pid)
        time.sleep(1.0)
        for _pid in _kids:
            os.kill(_pid, signal.SIGKILL)
        for _pid in _kids:
            os.waitpid(_pid, 0)
    """,
    "out_flood": """
        import time
        _chunk, _t0, _k = b"x" * (1 << 20), time.monotonic(), 0
        try:
            while time.monotonic() - _t0 < 4:
                with open("out/flood-%d" % _k, "wb") as _fh:
                    for _ in range(16):
                        _fh.write(_chunk)
                _k += 1
        except OSError:
            pass
        import os                 # make room again, so that this run's results can be saved
        for _f in os.listdir("out"):
            os.remove("out/" + _f)
    """,
    "daemon": """
        import os
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                os.execv("/bin/sleep", ["/bin/sleep", "1000", "nngrade-iso-daemon"])
            os._exit(0)
    """,
    "shm_writer": SHM + textwrap.dedent("""
        _CODE = b"def weighted_sum(x, w, b):\\n    return x @ w + b\\n"
        _id = _libc.shmget(_KEY, _SIZE, 0o1000 | 0o666)
        if _id >= 0:
            _addr = _libc.shmat(_id, None, 0)
            ctypes.memmove(_addr, _CODE, len(_CODE))
    """),
    "fork_memory": """
        import os, time
        _kids = []
        for _k in range(6):
            _pid = os.fork()
            if _pid == 0:
                _block = b"x" * (200 << 20)
                time.sleep(0.5)
                os._exit(0)
            _kids.append(_pid)
        for _pid in _kids:
            os.waitpid(_pid, 0)
    """,
}
READER = SHM + """
def weighted_sum(x, w, b):
    return 0.0 * b            # wrong, unless another submission's answer is found below
_id = _libc.shmget(_KEY, 0, 0)
if _id >= 0:
    exec(ctypes.string_at(_libc.shmat(_id, None, 0)).decode())
"""


def main() -> None:
    for old in HERE.glob("*.ipynb"):
        old.unlink()
    for name, attack in [*ATTACKS.items(), ("shm_reader", None)]:
        nb = nbformat.read(HONEST, as_version=4)
        for cell in nb.cells:
            meta = cell.metadata.get("nngrade", {})
            if meta.get("role") == "answer" and meta.get("question") == "q1":
                if attack is None:
                    cell.source = READER.strip("\n")
                    compile(cell.source, name, "exec")
                elif attack:
                    cell.source = textwrap.dedent(attack).strip("\n") + "\n\n" + cell.source
                    compile(cell.source, name, "exec")
        nbformat.write(nb, str(HERE / f"{name}.ipynb"))
    print(sorted(p.name for p in HERE.glob("*.ipynb")))


if __name__ == "__main__":
    main()
