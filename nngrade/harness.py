"""The runner inside the sandbox: ``python -I -S harness.py WORKDIR`` (stdlib + NumPy only).

It is copied into a private work directory and runs there in a fresh interpreter. It computes
the outputs of the student's function for the inputs the grader chose, and nothing else: no
comparison, no scores. Everything this process writes is untrusted; the grader reads back only
fixed-name .npy files (``allow_pickle=False``) and short error texts shown as feedback.

Steps: (as root, in fresh namespaces) hide secret directories under empty tmpfs and
drop to an unprivileged uid; set resource limits; block ``nnlib``/``nngrade`` imports; run the
instructor's setup code, then the student's answer cells; then, for each question, fork a child
that calls the question's function per test case (killed after ``question_timeout``).
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


def main():
    work = sys.argv[1]
    _open, _str, _type = builtins.open, str, type
    with _open(os.path.join(work, "job.json")) as fh:
        job = json.load(fh)
    if job["expose"]:
        _expose(job["expose"])
    if job["uid"] is not None:
        os.setgroups([])
        os.setgid(job["uid"])
        os.setuid(job["uid"])
    os.chdir(work)
    sys.path.extend(job["path"])
    import numpy as np
    _save, _load, _asarray = np.save, np.load, np.asarray
    out = os.path.join(work, "out")
    ns_timeout[0] = job["call_timeout"]

    def err(name, exc):
        text = (_type(exc).__name__ + ": " + _str(exc))[:500]
        with _open(os.path.join(out, name + ".err"), "w", errors="replace") as fh:
            fh.write(text)

    def load(spec):
        if "list" in spec:
            items = [load(s) for s in spec["list"]]
            return tuple(items) if spec["tuple"] else items
        arr = _load(os.path.join(work, "in", spec["npy"]), allow_pickle=False)
        return arr.item() if spec["scalar"] else arr

    def save(value, stem):
        if isinstance(value, (list, tuple)):
            for k, v in enumerate(value):
                save(v, stem + "." + _str(k))
            return
        _save(os.path.join(out, stem + ".npy"), _asarray(value), allow_pickle=False)

    questions = [(q["id"], q["function"],
                  [(c["id"], {k: load(s) for k, s in c["args"].items()}) for c in q["calls"]])
                 for q in job["questions"]]
    sys.meta_path.insert(0, _Blocker())
    _limit(job["limits"])
    _fork, _waitpid, _kill, _exit = os.fork, os.waitpid, os.kill, os._exit
    _sleep, _monotonic = time.sleep, time.monotonic

    def alarm(signum, frame):
        raise Timeout("a single call took longer than %g s (an infinite loop?)" % job["call_timeout"])

    signal.signal(signal.SIGALRM, alarm)
    ns = {"__name__": "__main__", "__builtins__": builtins}
    exec(compile(job["setup"], "<setup>", "exec"), ns)
    for k, code in enumerate(job["cells"]):
        try:
            signal.setitimer(signal.ITIMER_REAL, job["call_timeout"])
            exec(compile(code, "<answer cell %d>" % k, "exec"), ns)
        except BaseException as exc:  # noqa: BLE001 -- report anything, even SystemExit
            err("cell-%d" % k, exc)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    for qid, function, calls in questions:
        # each question in its own child: a crash, exit or endless loop costs that question only
        pid = _fork()
        if pid == 0:
            try:
                run_calls(ns, function, calls, err, save, np)
            finally:
                _exit(0)
        deadline = _monotonic() + job["question_timeout"]
        while _waitpid(pid, os.WNOHANG) == (0, 0):
            if _monotonic() > deadline:
                _kill(pid, signal.SIGKILL)
                _waitpid(pid, 0)
                with _open(os.path.join(out, "question-%s.killed" % qid), "w") as fh:
                    fh.write("killed")
                break
            _sleep(0.01)


def run_calls(ns, function, calls, err, save, np):
    """Call the student's function on each case; save results and the arguments afterwards."""
    for call_id, args in calls:
        try:
            fn = ns.get(function)
            if not callable(fn):
                raise NameError("function %s is not defined" % function)
            signal.setitimer(signal.ITIMER_REAL, ns_timeout[0])
            try:
                result = fn(**args)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            save(result, call_id + ".out")
            for name, value in args.items():
                if isinstance(value, (np.ndarray, list, tuple)):
                    save(value, call_id + ".arg." + name)
        except BaseException as exc:  # noqa: BLE001
            try:
                err(call_id, exc)
            except BaseException:
                pass


ns_timeout = [5.0]


if __name__ == "__main__":
    main()
