"""The program inside the sandbox: ``python -I -S runner.py WORKDIR`` (stdlib + NumPy only).

It is copied into a private work directory and runs there in a fresh interpreter. It computes
the outputs of the student's functions for the inputs the grader chose, and nothing else: no
comparison, no scores. Everything this process writes is untrusted; the files it writes and
the grader reads back are listed in :mod:`nngrade.protocol` (this file cannot import nngrade,
so the names and limits come in the job).

Steps: (as root, in fresh namespaces) hide secret directories under empty tmpfs and drop to
an unprivileged uid; set resource limits; block ``nnlib``/``nngrade`` imports; run the
instructor's setup code, then the student's answer cells; then, for each test, fork a child
that calls the function on the test's cases (each call under its own CPU timer; the child is
killed at the test's own wall-clock deadline, so a slow test never costs another one time).
Arguments are loaded only inside the child, after the answer cells ran.
"""
import builtins
import ctypes
import json
import os
import resource
import signal
import sys
import time


class Timeout(BaseException):
    """A single call took too long."""


def _expose(exposures):
    """Cover each directory to hide (e.g. /root, /tmp) with an empty tmpfs, then bind back only
    the directories the run needs under it (the interpreter, the work directory)."""
    libc = ctypes.CDLL(None, use_errno=True)

    def mount(src, dst, fstype, flags, opts):
        if libc.mount(src.encode(), dst.encode(), fstype, flags, opts) != 0:
            raise OSError(ctypes.get_errno(), "cannot mount " + dst)

    for hide, keep in exposures:
        fds = [(os.open(p, os.O_PATH | os.O_DIRECTORY), p) for p in keep]
        mode = b"1777" if hide in ("/tmp", "/var/tmp", "/dev/shm") else b"0755"
        mount("nngrade-hide", hide, b"tmpfs", 2 | 4 | 8, b"size=16m,mode=" + mode)  # nosuid,nodev,noexec
        for fd, path in fds:
            os.makedirs(path, 0o755, exist_ok=True)
            mount("/proc/self/fd/%d" % fd, path, None, 4096 | 16384, None)  # MS_BIND|MS_REC
            os.close(fd)


def _limit(limits):
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, "RLIMIT_" + name.upper()), (value, value))


class _Blocker:
    blocked = ("nnlib", "nngrade")

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.blocked:
            raise ImportError(name + " is not available to graded answers: write the code yourself")
        return None


class _IPython:
    """What ``get_ipython()`` returns here: IPython syntax in an answer cell was translated into
    calls of these methods by the grader (which already unwrapped the body of ``%%capture`` and
    ``%%time`` cells, the cell magics whose body Jupyter runs in the notebook's namespace).
    Magics and shell commands do nothing."""

    def run_line_magic(self, *args, **kwargs):
        return None

    def run_cell_magic(self, *args, **kwargs):
        return None

    def system(self, *args, **kwargs):
        return None

    def getoutput(self, *args, **kwargs):
        return []

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def main():
    work = sys.argv[1]
    _open, _str, _type, _len, _isinstance = builtins.open, str, type, len, isinstance
    with _open(os.path.join(work, "job.json")) as fh:
        job = json.load(fh)
    proto = job["protocol"]
    if job.get("expose"):
        _expose(job["expose"])
    if job.get("uid") is not None:
        os.setgroups([])
        os.setgid(job["uid"])
        os.setuid(job["uid"])
    os.chdir(work)
    sys.path.extend(job.get("path", []))
    out = os.path.join(work, proto["out"])
    os.environ["NUMBA_CACHE_DIR"] = os.path.join(out, proto["numba_cache"])
    import numpy as np
    _save, _load, _asarray, _ndarray, _generic = np.save, np.load, np.asarray, np.ndarray, np.generic
    _replace, _getpid = os.replace, os.getpid
    call_timeout = float(job.get("call_timeout", 5.0))
    max_bytes, max_items = proto["max_result_bytes"], proto["max_result_items"]
    max_depth, max_chars = proto["max_result_depth"], proto["max_message_chars"]
    cell_files = [os.path.join(work, "in", name) for name in job["cells"]]

    def _create(tmp):
        """A new regular file (whatever the answer planted under that name is removed first;
        O_EXCL|O_NONBLOCK: never a FIFO that would block)."""
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_NONBLOCK,
                       0o600)

    def write(name, data):
        """Write a file of out/ atomically (a FIFO or link planted under the name is replaced)."""
        path = os.path.join(out, name)
        tmp = path + ".tmp%d" % _getpid()
        with os.fdopen(_create(tmp), "wb") as fh:
            fh.write(data)
        _replace(tmp, path)

    def err(name, exc):
        line = cell = None
        if _isinstance(exc, SyntaxError) and exc.filename in cell_files:
            line, cell = exc.lineno, cell_files.index(exc.filename)
        tb = exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename in cell_files:
                line, cell = tb.tb_lineno, cell_files.index(tb.tb_frame.f_code.co_filename)
            tb = tb.tb_next
        try:
            message = _str(exc)[:max_chars]
        except BaseException:  # noqa: BLE001 -- a __str__ that raises
            message = ""
        record = {"type": _type(exc).__name__[:60], "message": message, "line": line, "cell": cell}
        write(name, json.dumps(record).encode())

    def save_array(value, stem):
        if not (_type(value) is _ndarray or _isinstance(value, _generic)
                or _type(value) in (int, float, bool)):
            raise TypeError("returned a %s where a NumPy array or a number was expected"
                            % _type(value).__name__)
        arr = _asarray(value)
        if arr.dtype.kind not in "biuf":
            raise TypeError("returned an array of dtype %s, expected numbers" % arr.dtype)
        if arr.size * arr.itemsize > max_bytes:
            raise ValueError("returned an array of shape %s, too large to be a result"
                             % (arr.shape,))
        path = os.path.join(out, stem + ".npy")
        tmp = path + ".tmp%d" % _getpid()
        with os.fdopen(_create(tmp), "wb") as fh:
            _save(fh, arr, allow_pickle=False)
        _replace(tmp, path)

    def save(value, stem, depth=0):
        if _type(value) in (list, tuple):
            if _len(value) > max_items or depth >= max_depth:
                raise ValueError("returned a list too long or too deeply nested to be a result")
            for k, v in enumerate(value):
                save(v, stem + "." + _str(k), depth + 1)
            kind = "tuple" if _type(value) is tuple else "list"
            write(stem + ".len", ("%s %d" % (kind, _len(value))).encode())
            return
        save_array(value, stem)

    def load(spec):
        if "list" in spec:
            items = [load(s) for s in spec["list"]]
            return tuple(items) if spec["tuple"] else items
        arr = _load(os.path.join(work, "in", spec["npy"]), allow_pickle=False)
        return arr.item() if spec["scalar"] else arr

    def snapshot(value):
        """Contents and identity of the array arguments, to see what a call changed."""
        if _type(value) in (list, tuple):
            return (_type(value), _len(value), [id(v) for v in value], [snapshot(v) for v in value])
        if _isinstance(value, _ndarray):
            return (value.shape, value.dtype.str, value.tobytes())
        return None

    sys.meta_path.insert(0, _Blocker())
    _limit(job.get("limits", {}))
    _fork, _waitpid, _kill, _exit = os.fork, os.waitpid, os.kill, os._exit
    _sleep, _monotonic, _setitimer = time.sleep, time.monotonic, signal.setitimer

    def alarm(signum, frame):
        raise Timeout("took longer than %g s of CPU time (an infinite loop?)" % call_timeout)

    signal.signal(signal.SIGPROF, alarm)
    signal.signal(signal.SIGALRM, alarm)

    def timers(on, wall=False):
        """CPU time (load on the machine does not count) for every call and cell; a cell also
        gets a generous wall-clock timer (a sleeping call is stopped by its test's deadline)."""
        _setitimer(signal.ITIMER_PROF, call_timeout if on else 0)
        if wall or not on:
            _setitimer(signal.ITIMER_REAL, 10 * call_timeout if on else 0)

    ns = {"__name__": "__main__", "__builtins__": builtins}
    shell = _IPython()
    ns["get_ipython"] = lambda: shell
    ns["display"] = lambda *args, **kwargs: None   # a builtin in Jupyter
    exec(compile(job["setup"], "<setup>", "exec"), ns)
    for k, path in enumerate(cell_files):
        try:
            with _open(path, encoding="utf-8") as fh:
                code = fh.read()
            timers(True, wall=True)
            exec(compile(code, path, "exec"), ns)
        except BaseException as exc:  # noqa: BLE001 -- report anything, even SystemExit
            timers(False)
            err("cell-%d.err" % k, exc)
        finally:
            timers(False)

    def run_test(test):
        for call in test["calls"]:
            call_id = call["id"]
            try:
                args = {k: load(s) for k, s in call["args"].items()}
                before = {k: snapshot(v) for k, v in args.items()}
                fn = ns.get(test["function"])
                if not callable(fn):
                    raise NameError("function %s is not defined" % test["function"])
                timers(True)
                try:
                    result = fn(**args)
                finally:
                    timers(False)
                changed = [k for k, v in args.items() if before[k] is not None
                           and snapshot(v) != before[k]]
                if changed:
                    write(call_id + ".inplace", "\n".join(changed).encode())
                save(result, call_id + ".out")
            except Timeout as exc:
                timers(False)
                err(call_id + ".err", exc)
                return  # the test fails anyway: its other cases need not spend time
            except BaseException as exc:  # noqa: BLE001
                timers(False)
                try:
                    err(call_id + ".err", exc)
                except BaseException:  # noqa: BLE001
                    pass

    for test in job["tests"]:
        # each test in its own child: a crash, exit or endless loop costs that test only
        pid = _fork()
        if pid == 0:
            try:
                run_test(test)
            finally:
                _exit(0)
        deadline = _monotonic() + float(test["deadline"])
        while _waitpid(pid, os.WNOHANG) == (0, 0):
            if _monotonic() > deadline:
                _kill(pid, signal.SIGKILL)
                _waitpid(pid, 0)
                write(test["id"] + ".killed", b"killed")
                break
            _sleep(0.005)


if __name__ == "__main__":
    main()
