#!/usr/bin/env python3
"""tests/tools/errclient.py - the clients and servers of tests/e2e/errors.bats.

Each mode prints one line of JSON on stdout, what the application saw:

  connect HOST PORT [--udp]        connect() once: {"errno": "ECONNREFUSED"|"ok", "ms": T}
  connectn N HOST PORT [--udp]     N connect() calls: {"errnos": {"ok": n, "ECONNREFUSED": n}}
  stream HOST PORT SECONDS         read a stream until it breaks or SECONDS pass:
                                   {"end": "ECONNRESET"|"eof"|"timeout", "bytes": N, "s": T}
  streamsrv ADDR PORT SECONDS      serve PORT: every connection gets 1 KiB every 10 ms
                                   (bounded by SECONDS)
  http HOST PORT N PATH            N GET requests on keep-alive connections:
                                   {"status": {"200": n, ...}, "bad_body": n, "errors": n}
  dns SERVER NAME [--tcp]          one A query: {"rcode": "NOERROR"|..., "answers": n}
                                   or {"rcode": "timeout"}

Every loop is bounded in count and time; traffic goes only to the addresses
given (the tests' namespaces).
"""
import errno
import http.client
import json
import socket
import struct
import sys
import threading
import time

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def do_connect(host, port, udp):
    s = socket.socket(family_of(host), socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
    s.settimeout(5)
    t0 = time.monotonic()
    try:
        s.connect((host, port))
        res = "ok"
    except OSError as e:
        res = errno.errorcode.get(e.errno, str(e.errno)) if e.errno else type(e).__name__
    ms = (time.monotonic() - t0) * 1000
    s.close()
    print(json.dumps({"errno": res, "ms": round(ms, 3)}))


def do_connectn(n, host, port, udp):
    seen = {}
    for _ in range(n):
        s = socket.socket(family_of(host), socket.SOCK_DGRAM if udp else socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect((host, port))
            res = "ok"
        except OSError as e:
            res = errno.errorcode.get(e.errno, str(e.errno))
        s.close()
        seen[res] = seen.get(res, 0) + 1
    print(json.dumps({"errnos": seen}))


def do_stream(host, port, seconds):
    t0 = time.monotonic()
    try:
        s = socket.create_connection((host, port), timeout=5)
    except OSError as e:
        # a RST may beat connect()'s return: the handshake's last ACK is
        # the first segment of an established connection
        print(json.dumps({"end": errno.errorcode.get(e.errno, str(e.errno)), "bytes": 0,
                          "s": round(time.monotonic() - t0, 3), "in": "connect"}))
        return
    s.settimeout(0.5)
    n = 0
    end = "timeout"
    while time.monotonic() - t0 < seconds:
        try:
            b = s.recv(65536)
        except socket.timeout:
            continue
        except OSError as e:
            end = errno.errorcode.get(e.errno, str(e.errno))
            break
        if not b:
            end = "eof"
            break
        n += len(b)
    print(json.dumps({"end": end, "bytes": n, "s": round(time.monotonic() - t0, 3)}))


def do_streamsrv(addr, port, seconds):
    ls = socket.socket(family_of(addr), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(16)
    ls.settimeout(0.5)
    stop = time.monotonic() + seconds

    def serve(c):
        chunk = b"x" * 1024
        try:
            while time.monotonic() < stop:
                c.sendall(chunk)
                time.sleep(0.01)
        except OSError:
            pass
        c.close()

    while time.monotonic() < stop:
        try:
            c, _ = ls.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def do_http(host, port, n, path):
    status = {}
    bad_body = errors = 0
    conn = None
    deadline = time.monotonic() + 120
    for _ in range(n):
        if time.monotonic() > deadline:
            break
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=5)
            conn.request("GET", path)
            r = conn.getresponse()
            body = r.read()
            status[str(r.status)] = status.get(str(r.status), 0) + 1
            if body != b"ok\n":
                bad_body += 1
            if r.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException):
            errors += 1
            if conn is not None:
                conn.close()
            conn = None
    print(json.dumps({"status": status, "bad_body": bad_body, "errors": errors}))


def dns_query(name, qid):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack("!HH", 1, 1)


def do_dns(server, name, tcp):
    q = dns_query(name, 0x4242)
    try:
        if tcp:
            s = socket.create_connection((server, 53), timeout=2)
            s.sendall(struct.pack("!H", len(q)) + q)
            hdr = b""
            while len(hdr) < 2:
                b = s.recv(2 - len(hdr))
                if not b:
                    raise socket.timeout
                hdr += b
            (ln,) = struct.unpack("!H", hdr)
            r = b""
            while len(r) < ln:
                b = s.recv(ln - len(r))
                if not b:
                    raise socket.timeout
                r += b
        else:
            s = socket.socket(family_of(server), socket.SOCK_DGRAM)
            s.settimeout(2)
            s.sendto(q, (server, 53))
            r, _ = s.recvfrom(4096)
    except (socket.timeout, OSError):
        print(json.dumps({"rcode": "timeout"}))
        return
    _, flags, _, an, _, _ = struct.unpack("!HHHHHH", r[:12])
    print(json.dumps({"rcode": RCODES.get(flags & 15, str(flags & 15)), "answers": an,
                      "len": len(r)}))


def main(a):
    if a[0] == "connect":
        do_connect(a[1], int(a[2]), "--udp" in a)
    elif a[0] == "connectn":
        do_connectn(int(a[1]), a[2], int(a[3]), "--udp" in a)
    elif a[0] == "stream":
        do_stream(a[1], int(a[2]), float(a[3]))
    elif a[0] == "streamsrv":
        do_streamsrv(a[1], int(a[2]), float(a[3]))
    elif a[0] == "http":
        do_http(a[1], int(a[2]), int(a[3]), a[4])
    elif a[0] == "dns":
        do_dns(a[1], a[2], "--tcp" in a)
    else:
        sys.exit("unknown mode " + a[0])


if __name__ == "__main__":
    main(sys.argv[1:])
