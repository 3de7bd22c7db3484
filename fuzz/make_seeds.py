#!/usr/bin/env python3
"""Writes the committed seed corpus, fuzz/seeds/<target>/, from the literal
requests below. Layout (see porter/src/fuzzing.rs): `head` and `proxy`
seeds are [selector] + bytes; `chunked` and `conn` seeds are [selector, 0] + bytes
(0 piece sizes: the payload in one read). Run from anywhere; rewrites the
seeds in place. libFuzzer's working corpus goes to fuzz/corpus/ (ignored)."""

import hashlib
import os

HERE = os.path.dirname(os.path.abspath(__file__))

HEADS = [
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"\r\n\r\nGET /p?q=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"POST /up HTTP/1.1\r\nHost: h:8080\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n",
    b"GET http://[::1]:80/x?y HTTP/1.1\r\nHost: other\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: [v1.x]\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n",
    b"GET / HTTP/1.2\r\nHost: a\r\n\r\n",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost : a\r\nX:\x00\r\n\r\n",
    b"GET /\xff HTTP/1.1\nHost: a\n\n",
    b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n",
]

BODIES = [
    b"0\r\n\r\n",
    b"5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n",
    b"3;a=b;c=\"d\\\"e\"\r\nabc\r\nA \t; x\r\n0123456789\r\n0\r\nX-T: v\r\n\r\n",
    b"ffffffffffffffff\r\nab",
    b"0\r\nContent-Length: 5\r\n\r\n",
    b"5\r\nhelloXX",
    b"5\nhello\r\n",
]

GET = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
CONNS = [
    GET + b"HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n" + b"GET /s HTTP/1.1\r\nHost: a\r\n\r\n",
    b"\r\nPOST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" + GET,
    b"POST /e HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + GET,
    b"POST /r HTTP/1.1\r\nHost: a\r\nContent-Length: 38\r\n\r\n" + GET + b"GET /c HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
    b"POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + GET,
    b"GET /b HTTP/1.1\r\nHost: a\r\n\r\n" * 3,
    b"GET /s HTTP/1.0\r\n\r\n",
    b"GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\nHost: a\r\n\r\n",
    GET * 10,
    # Streamed uploads: /u under max_body, /v under its own 100 bytes.
    b"POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello" + GET,
    b"POST /v HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n96\r\n" + b"x" * 150 + b"\r\n0\r\n\r\n",
    b"POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n",
]

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"
PROXIES = [
    b"PROXY TCP4 203.0.113.7 198.51.100.2 51234 80\r\nGET / HTTP/1.1\r\n",
    b"PROXY TCP6 2001:db8::1 2001:db8::2 51234 443\r\n",
    b"PROXY UNKNOWN\r\n",
    b"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n",
    V2_SIG + b"\x21\x11\x00\x0c" + bytes([203, 0, 113, 7, 198, 51, 100, 2]) + b"\xc8\x22\x00\x50",
    V2_SIG + b"\x20\x00\x00\x00",  # LOCAL
    V2_SIG + b"\x21\x21\x00\x24" + bytes(range(32)) + b"\x01\xbb\x00\x50",
    V2_SIG + b"\x21\x11\x00\x13" + bytes(12) + b"\x04\x00\x04abcd",  # one TLV
]


def write(target, seeds):
    folder = os.path.join(HERE, "seeds", target)
    os.makedirs(folder, exist_ok=True)
    for seed in seeds:
        name = hashlib.sha1(seed).hexdigest()[:16]
        with open(os.path.join(folder, name), "wb") as f:
            f.write(seed)


def main():
    write("head", [bytes([sel]) + h for h in HEADS for sel in (0, 1)])
    write("chunked", [bytes([sel, 0]) + b for b in BODIES for sel in (0, 0x45)])
    conns = [bytes([sel, 0]) + c for c in CONNS for sel in (0, 1)]
    conns.append(bytes([2, 1, 1]) + CONNS[1])  # one byte per read, writes cut to 4093
    write("conn", conns)
    write("proxy", [bytes([sel]) + p for p in PROXIES for sel in (0, 255)])


if __name__ == "__main__":
    main()
