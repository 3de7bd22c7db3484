"""Idle memory: hold N keep-alive connections, each after one answered request,
and divide the growth of the server's resident memory by N."""
import selectors
import socket
import time

from . import procs


def request(path):
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()


def reply_complete(data):
    """Whether `data` holds one whole reply with a Content-Length body."""
    head_end = data.find(b"\r\n\r\n")
    if head_end < 0:
        return False
    length = 0
    for line in data[:head_end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return len(data) >= head_end + 4 + length


def answer_all(socks, req, timeout=60.0):
    """Sends `req` on every socket and waits until each has a whole reply; returns
    how many got one. A socket the server closes counts as unanswered."""
    sel = selectors.DefaultSelector()
    for s in socks:
        s.sendall(req)
        sel.register(s, selectors.EVENT_READ, bytearray())
    answered, deadline = 0, time.monotonic() + timeout
    while sel.get_map() and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1.0):
            chunk = key.fileobj.recv(65536)
            key.data.extend(chunk)
            if not chunk or reply_complete(key.data):
                sel.unregister(key.fileobj)
                answered += bool(chunk)
                key.data.clear()
    sel.close()
    return answered


def connect_all(port, count):
    """`count` connections to 127.0.0.1:port."""
    return [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)]


def per_conn_kib(port, pid, count, path="/plaintext", settle=0.5):
    """The growth of `pid`'s resident memory (with its children), in KiB, per
    connection, once `count` connections have each had one reply and sit idle.
    NaN when some connection went unanswered."""
    before = procs.rss_kib(pid)
    socks = connect_all(port, count)
    try:
        if answer_all(socks, request(path)) != count:
            return float("nan")
        time.sleep(settle)  # let the server finish its bookkeeping before sampling
        return (procs.rss_kib(pid) - before) / count
    finally:
        for s in socks:
            s.close()
