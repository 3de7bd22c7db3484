"""The programs the benchmarks run, installed with apt-get when missing."""
import os
import shutil
import subprocess
import sys

# command -> Debian package
PACKAGES = {
    "wrk": "wrk",
    "nginx": "nginx",
    "h2o": "h2o",
    "taskset": "util-linux",
    "cc": "gcc",
    "openssl": "openssl",
    "curl": "curl",
    "slowhttptest": "slowhttptest",
    "/usr/bin/time": "time",
}


def locate(command):
    """The path of `command` (on PATH, in an sbin directory, or absolute), or None."""
    if os.path.isabs(command):
        return command if os.access(command, os.X_OK) else None
    return shutil.which(command) or shutil.which(command, path="/usr/sbin:/sbin")


def present(command):
    return locate(command) is not None


def ensure(commands):
    """Installs the packages of the commands that are missing (apt-get, with sudo
    when not root)."""
    missing = sorted({PACKAGES[c] for c in commands if not present(c)})
    if not missing:
        return
    print(f"bench: installing {' '.join(missing)}", file=sys.stderr)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(sudo + ["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "-qq"] + missing, check=True,
                   stdout=subprocess.DEVNULL, env=env)
