#!/usr/bin/env python3
"""reqlat.py - per-request latency of a real service over one TCP connection.

Opens ONE TCP connection to HOST:PORT, sends N requests one after the other
(each waits for its whole response before the next is sent) and times each
round trip with time.perf_counter_ns. Prints one JSON object:
  {"n", "warmup", "p50_ns", "p99_ns", "min_ns", "max_ns", "mean_ns", "connect_ns"}

Protocols:
  redis  RESP "PING", expects "+PONG\\r\\n"
  http   HTTP/1.1 keep-alive "GET PATH", reads the headers and Content-Length
         bytes of body; fails on a non-2xx status or a closed connection

Every wait is bounded by --timeout (per socket operation) and the whole run
by --max-time; exit 1 on any error (reported on stderr).

Usage: reqlat.py --proto redis|http --host ADDR --port N [-n N] [--warmup K]
                 [--path /] [--timeout S] [--max-time S] [--interval MS]
"""

import argparse
import json
import socket
import sys
import time

REDIS_PING = b"*1\r\n$4\r\nPING\r\n"
REDIS_PONG = b"+PONG\r\n"


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("connection closed by the server")
        self.buf += data

    def read_exact(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_until(self, sep, limit=65536):
        while True:
            i = self.buf.find(sep)
            if i >= 0:
                out, self.buf = self.buf[: i + len(sep)], self.buf[i + len(sep) :]
                return out
            if len(self.buf) > limit:
                raise ValueError("response header too long")
            self.fill()


def redis_request(c):
    c.sock.sendall(REDIS_PING)
    got = c.read_exact(len(REDIS_PONG))
    if got != REDIS_PONG:
        raise ValueError("unexpected redis reply %r" % got)


def http_request_bytes(host, port, path):
    return (
        "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: reqlat\r\nConnection: keep-alive\r\n\r\n"
        % (path, host, port)
    ).encode()


def http_request(c, req):
    c.sock.sendall(req)
    head = c.read_until(b"\r\n\r\n").decode("latin-1")
    lines = head.split("\r\n")
    status = lines[0].split(" ")
    if len(status) < 2 or not status[1].startswith("2"):
        raise ValueError("HTTP status line %r" % lines[0])
    length = None
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v.strip())
        if k.strip().lower() == "connection" and v.strip().lower() == "close":
            raise ValueError("server closes the connection: not keep-alive")
    if length is None:
        raise ValueError("response without Content-Length")
    c.read_exact(length)


def percentile(sorted_vals, q):
    # nearest rank, as fl-traffic reports its percentiles
    k = max(0, min(len(sorted_vals) - 1, int(-(-q * len(sorted_vals) // 100)) - 1))
    return sorted_vals[k]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--proto", choices=("redis", "http"), required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("-n", type=int, default=200, help="requests measured")
    ap.add_argument("--warmup", type=int, default=3, help="requests sent first, not measured")
    ap.add_argument("--path", default="/")
    ap.add_argument("--timeout", type=float, default=2.0, help="per socket operation, s")
    ap.add_argument("--max-time", type=float, default=30.0, help="whole run, s")
    ap.add_argument("--interval", type=float, default=0.0, help="idle time between requests, ms")
    a = ap.parse_args()
    if a.n < 1 or a.n > 100000 or a.warmup < 0 or a.warmup > 1000:
        print("reqlat: -n must be 1..100000, --warmup 0..1000", file=sys.stderr)
        return 2

    start = time.monotonic()
    t0 = time.perf_counter_ns()
    sock = socket.create_connection((a.host, a.port), timeout=a.timeout)
    connect_ns = time.perf_counter_ns() - t0
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c = Conn(sock)
    if a.proto == "redis":
        do = lambda: redis_request(c)
    else:
        req = http_request_bytes(a.host, a.port, a.path)
        do = lambda: http_request(c, req)

    lat = []
    try:
        for i in range(a.warmup + a.n):
            if time.monotonic() - start > a.max_time:
                raise TimeoutError("--max-time %.1fs exceeded after %d requests" % (a.max_time, i))
            if a.interval > 0 and i > 0:
                time.sleep(a.interval / 1e3)
            t = time.perf_counter_ns()
            do()
            d = time.perf_counter_ns() - t
            if i >= a.warmup:
                lat.append(d)
    except (OSError, ValueError) as e:
        print("reqlat: %s:%d %s: %s" % (a.host, a.port, a.proto, e), file=sys.stderr)
        return 1
    finally:
        sock.close()

    s = sorted(lat)
    print(
        json.dumps(
            {
                "n": len(s),
                "warmup": a.warmup,
                "p50_ns": percentile(s, 50),
                "p99_ns": percentile(s, 99),
                "min_ns": s[0],
                "max_ns": s[-1],
                "mean_ns": sum(s) // len(s),
                "connect_ns": connect_ns,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
