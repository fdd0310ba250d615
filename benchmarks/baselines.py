"""The baselines as commands: the seed's openssl + keytool workflow and cfssl, each a shell script
run in an emptied folder; what they need is installed from apt when missing, like .ci/run does."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = HERE / "seed_commands.sh"
CFSSL = HERE / "cfssl_commands.sh"


def install_missing() -> None:
    """cfssl (Debian's golang-cfssl), keytool and openssl: apt-get install when a command is missing."""
    missing = [package for command, package in (("cfssl", "golang-cfssl"), ("cfssljson", "golang-cfssl"),
                                                 ("openssl", "openssl"), ("keytool", "openjdk-17-jre-headless"))
               if shutil.which(command) is None]
    if not missing:
        return
    print(f"installing {' '.join(sorted(set(missing)))} (apt-get)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *sorted(set(missing))],
                   check=True, env=env, stdout=subprocess.DEVNULL)


def cfssl_version() -> str:
    out = subprocess.run(["cfssl", "version"], capture_output=True, text=True).stdout.split()
    return out[1] if len(out) > 1 else "?"


def emptied(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder
