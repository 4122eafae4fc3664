"""Sandbox uids leased across processes: no two runs on this machine ever share one.

Each uid in ``[UID_BASE, UID_BASE + UID_COUNT)`` has a lease file ``LEASE_DIR/uid-N``. A run owns
uid N while it holds an exclusive ``flock`` on that file; the kernel drops the lock when the owner
closes it or dies, so a lease can never outlive its grader (no stale pid to guess at). The file
records what the run created (cgroups, mounts): the next run that takes a uid whose file is not
empty knows its last owner died mid-run and removes that owner's leftovers first.

Because the lease is exclusive, "every process of uid N" is this run's processes and nobody
else's: the clean-up of one grader can never touch another grader's runs.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import stat
from pathlib import Path

UID_BASE = 200000
UID_COUNT = 50000
LEASE_DIR = Path("/run/nngrade")


class LeaseError(RuntimeError):
    """No sandbox uid could be leased (lease folder unusable or every uid taken)."""


def lease_dir() -> Path:
    """The root-owned lease folder, created 0700 if missing; refused if anyone else could write it."""
    try:
        LEASE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(LEASE_DIR)
    except OSError as exc:
        raise LeaseError(f"cannot create the uid lease folder {LEASE_DIR}: {exc}") from exc
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o022:
        raise LeaseError(f"{LEASE_DIR} must be a folder owned by root and writable only by root")
    return LEASE_DIR


class UidLease:
    """An exclusive lease of one sandbox uid (use as a context manager, or call release())."""

    def __init__(self, uid: int, fd: int, stale: dict | None) -> None:
        self.uid, self._fd, self.stale = uid, fd, stale

    def record(self, **facts: object) -> None:
        """Write what this run created, for the clean-up after a crash of this grader."""
        text = json.dumps({"pid": os.getpid(), **facts}).encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, text, 0)

    def release(self, clean: bool = True) -> None:
        """Give the uid back. ``clean=False`` keeps the record, so that the next owner removes
        what this run could not."""
        if self._fd >= 0:
            if clean:
                os.ftruncate(self._fd, 0)  # nothing left to recover
            os.close(self._fd)             # closing drops the flock
            self._fd = -1

    def __enter__(self) -> UidLease:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def acquire(offset: int = 0) -> UidLease:
    """Lease the lowest free uid from ``UID_BASE + offset`` on (so the lease files stay few).

    ``lease.stale`` is the record left by a previous owner that died mid-run (else None)."""
    folder = lease_dir()
    start = offset % UID_COUNT
    for k in range(UID_COUNT):
        uid = UID_BASE + (start + k) % UID_COUNT
        fd = os.open(folder / f"uid-{uid}", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                continue
            raise
        raw = os.pread(fd, 1 << 16, 0)
        try:
            stale = json.loads(raw) if raw.strip() else None
        except ValueError:
            stale = {}
        return UidLease(uid, fd, stale if isinstance(stale, dict) or stale is None else {})
    raise LeaseError(f"all {UID_COUNT} sandbox uids from {UID_BASE} are leased")


def holders() -> dict[int, int]:
    """uid -> pid of the grader holding its lease, from /proc/locks (for tests and diagnostics)."""
    try:
        folder = lease_dir()
    except LeaseError:
        return {}
    inodes = {}
    for entry in os.scandir(folder):
        if entry.name.startswith("uid-"):
            inodes[entry.inode()] = int(entry.name[4:])
    dev = os.stat(folder).st_dev
    out = {}
    with open("/proc/locks") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) < 6 or parts[1] != "FLOCK" or parts[0].endswith("->"):
                continue
            major, minor, ino = parts[5].split(":")
            if os.makedev(int(major, 16), int(minor, 16)) == dev and int(ino) in inodes:
                out[inodes[int(ino)]] = int(parts[4])
    return out
