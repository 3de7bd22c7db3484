"""The scenarios: what each one sends, over how many connections, what it
measures, and the static root whose files they ask for."""
import os
from dataclasses import dataclass

HELLO = b"Hello, World!"


@dataclass(frozen=True)
class Scenario:
    """One measurement. Load scenarios report requests/s (wrk); `idle` reports the
    server's resident memory per idle keep-alive connection."""

    name: str
    what: str
    path: str = "/plaintext"
    body_len: int = len(HELLO)
    conns: int = 64
    depth: int = 1
    idle: bool = False

    @property
    def unit(self):
        return "KiB/conn" if self.idle else "req/s"

    @property
    def higher_is_better(self):
        return not self.idle


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("plaintext", "GET /plaintext (13-byte body), 64 keep-alive connections"),
        Scenario("pipelined", "GET /plaintext, 64 connections, 16 requests per write", depth=16),
        Scenario("static64k", "GET /64k.bin (64 KiB file), 64 keep-alive connections", "/64k.bin", 64 << 10),
        Scenario("static1m", "GET /1m.bin (1 MiB file), 16 keep-alive connections", "/1m.bin", 1 << 20, conns=16),
        Scenario("idle", "RSS growth for N idle keep-alive connections, each after one GET /plaintext", idle=True),
    )
}

# The static root every server is given: name -> size (the plaintext file is HELLO).
FILES = {"plaintext": len(HELLO), "64k.bin": 64 << 10, "1m.bin": 1 << 20}


def parse_list(text):
    """Scenario names from "a,b,c", in order; unknown names are an error."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    return [SCENARIOS[n] for n in names]


def file_bytes(name, size):
    """The content of a static file: HELLO for `plaintext`, else a fixed pattern."""
    if name == "plaintext":
        return HELLO
    pattern = bytes(range(256))
    return (pattern * (size // len(pattern) + 1))[:size]


def make_root(root):
    """Writes the static files into `root`, readable by everyone (nginx's and h2o's
    workers may run as `nobody`)."""
    os.makedirs(root, exist_ok=True)
    os.chmod(root, 0o755)
    for name, size in FILES.items():
        path = os.path.join(root, name)
        with open(path, "wb") as f:
            f.write(file_bytes(name, size))
        os.chmod(path, 0o644)
