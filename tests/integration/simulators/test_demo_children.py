"""The demo's children never outlive it: even a SIGKILLed demo leaves no process behind."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie is dead, waiting to be reaped


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux-only")
def test_a_child_dies_when_the_demo_is_killed(tmp_path: Path) -> None:
    demo = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from simulators.demo_procs import Child
        child = Child("sleeper", [sys.executable, "-c", "import time; time.sleep(120)"],
                      Path({str(tmp_path / "sleeper.log")!r})).start()
        print(child.proc.pid, flush=True)
        time.sleep(120)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", demo], stdout=subprocess.PIPE, cwd=ROOT)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    parent.stdout.close()
    assert _alive(pid)
    parent.kill()  # no chance to stop its children itself
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), f"child {pid} outlived the killed demo"
