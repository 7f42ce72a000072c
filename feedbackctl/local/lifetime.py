"""Child processes of the local platform that never outlive the process that made them.

Owns `die_with_parent`: the kernel kills the calling process when its parent goes (Linux's
PR_SET_PDEATHSIG), so a `kill -9` of the platform leaves no AWS process or snapshot writer
running on, holding its state folder. The signal follows the parent *thread* that forked or
spawned the child, so callers make their children from threads that live as long as the child
should.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Ask the kernel to kill this process when its parent dies (Linux); if the parent is
    already gone (it died before the request was made), exit."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(0)
