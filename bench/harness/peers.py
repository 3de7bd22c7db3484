"""The servers porter is compared with: nginx and h2o, whose configs are rendered
from the templates in bench/peers/, and `limit` (bench/peers/limit.c), the
canned-response ceiling, compiled here."""
import os
import string
import subprocess
from dataclasses import dataclass
from typing import FrozenSet, Optional, Tuple

from . import tools

PEERS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "peers")
NAMES = ("limit", "nginx", "h2o")


@dataclass(frozen=True)
class Spec:
    """A server to start: its name, argv, and the scenarios it takes part in
    (None: all of them)."""

    name: str
    argv: Tuple[str, ...]
    scenarios: Optional[FrozenSet[str]] = None


def render(template, **values):
    """bench/peers/TEMPLATE with every placeholder filled in (a missing value is an error)."""
    with open(os.path.join(PEERS_DIR, template)) as f:
        return string.Template(f.read()).substitute(values)


def nginx_tls(cert, key):
    """The TLS lines of nginx's server block: TLS 1.3 with one suite
    (TLS_AES_256_GCM_SHA384, which wrk's OpenSSL prefers) and session resumption."""
    return (f"ssl_certificate {cert}; ssl_certificate_key {key}; ssl_protocols TLSv1.3;\n"
            "        ssl_conf_command Ciphersuites TLS_AES_256_GCM_SHA384;\n"
            "        ssl_session_cache shared:SSL:10m; ssl_session_tickets on;")


def nginx_conf(port, root, work, workers=1, tls=None):
    """nginx's config; `tls` is (cert, key) for an HTTPS listener."""
    return render("nginx.conf", port=port, root=root, work=work, workers=workers,
                  listen_flags=" ssl" if tls else "", tls=nginx_tls(*tls) if tls else "")


def h2o_conf(port, root, work, workers=1):
    """h2o's config."""
    return render("h2o.conf", port=port, root=root, work=work, workers=workers)


def build_limit(work):
    """Compiles limit.c into `work`; returns the executable's path."""
    exe = os.path.join(work, "limit")
    subprocess.run(["cc", "-O2", "-Wall", "-o", exe, os.path.join(PEERS_DIR, "limit.c")], check=True)
    return exe


def write_conf(work, name, text):
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def spec(name, port, root, work, workers=1):
    """The Spec of peer `name` listening on `port`, its files in `work`."""
    if name == "limit":
        return Spec(name, (build_limit(work), str(port)), frozenset({"plaintext", "pipelined"}))
    if name == "nginx":
        conf = write_conf(work, "nginx.conf", nginx_conf(port, root, work, workers))
        return Spec(name, (tools.locate("nginx") or "nginx", "-p", work, "-e", os.path.join(work, "nginx-error.log"), "-c", conf))
    if name == "h2o":
        return Spec(name, (tools.locate("h2o") or "h2o", "-c", write_conf(work, "h2o.conf", h2o_conf(port, root, work, workers))))
    raise ValueError(f"unknown peer {name!r}; known: {', '.join(NAMES)}")
