"""Run Python in a child process that sees a directory read-only or on a tiny full-able disk.

Real failures, not imitations: the child runs in its own mount namespace (``unshare -m``, which needs root or
user namespaces; tests skip with the reason where it is not allowed), where the directory is bind-mounted
read-only (writes fail with EROFS, as on a read-only mount) or replaced by a tmpfs of a few hundred KB
(writes fail with ENOSPC, as on a full disk). The mounts vanish with the child; it prints JSON for the test.
"""
import json
import os
import shlex
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict

import pytest


@lru_cache(maxsize=1)
def namespaces_allowed() -> bool:
    try:
        return subprocess.run(["unshare", "-m", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def run_with_mount(script: str, directory: Path, read_only: bool = False, size_kb: int = 0) -> Dict[str, Any]:
    """Run ``script`` (Python that prints one JSON object last) with ``directory`` read-only, or an empty tmpfs
    of ``size_kb`` KB mounted on it; returns the JSON."""
    if not namespaces_allowed():
        pytest.skip("needs `unshare -m` (root or user namespaces) to mount a read-only or tiny file system")
    target = shlex.quote(str(directory))
    mount = (f"mount --bind -o ro {target} {target}" if read_only
             else f"mount -t tmpfs -o size={size_kb}k tmpfs {target}")
    command = f"{mount} && exec {shlex.quote(sys.executable)} -c {shlex.quote(script)}"
    tests = str(Path(__file__).parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.environ.get("PYTHONPATH", ""), tests])}
    result = subprocess.run(["unshare", "-m", "sh", "-c", command], capture_output=True, text=True, timeout=300,
                            env=env, cwd=os.getcwd())
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
