#!/usr/bin/env python3
"""icmplat.py ADDR [--count N] [--rate PPS] [--timeout S]: ICMP or ICMPv6
echo round trips, one per packet, timed with perf_counter_ns (ping prints
RTTs of 10 ms and more with 0.1 ms resolution, too coarse for a p50 bound of
100 us). Prints JSON {sent, received, p50_ns, p99_ns, max_ns}. Needs root (raw
socket). Bounded: COUNT packets, then at most TIMEOUT seconds of waiting."""
import argparse, json, os, select, socket, struct, time


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("addr")
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--timeout", type=float, default=2.0)
    a = ap.parse_args()
    v6 = ":" in a.addr
    if v6:
        s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        req, rep = 128, 129
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        req, rep = 8, 0
    s.setblocking(False)
    ident = os.getpid() & 0xFFFF
    sent, rtt = {}, {}
    gap = 1e9 / a.rate
    t0 = time.perf_counter_ns()
    seq = 0

    def drain():
        while True:
            try:
                data = s.recv(2048)
            except BlockingIOError:
                return
            now = time.perf_counter_ns()
            if not v6:
                data = data[(data[0] & 0x0F) * 4:]  # IPv4 raw sockets get the IP header
            if len(data) < 8:
                continue
            t, _, _, i, q = struct.unpack("!BBHHH", data[:8])
            if t == rep and i == ident and q in sent and q not in rtt:
                rtt[q] = now - sent[q]

    while seq < a.count:
        due = t0 + seq * gap
        while True:
            now = time.perf_counter_ns()
            if now >= due:
                break
            r, _, _ = select.select([s], [], [], max(0, (due - now) / 1e9))
            if r:
                drain()
        hdr = struct.pack("!BBHHH", req, 0, 0, ident, seq) + b"faultline-icmplat"
        if not v6:  # the kernel computes ICMPv6 checksums
            hdr = hdr[:2] + struct.pack("!H", csum(hdr)) + hdr[4:]
        sent[seq] = time.perf_counter_ns()
        s.sendto(hdr, (a.addr, 0))
        seq += 1
        drain()
    end = time.perf_counter_ns() + a.timeout * 1e9
    while len(rtt) < len(sent) and time.perf_counter_ns() < end:
        r, _, _ = select.select([s], [], [], 0.05)
        if r:
            drain()
    v = sorted(rtt.values())
    out = {"sent": len(sent), "received": len(v)}
    if v:
        out.update(p50_ns=v[len(v) // 2], p99_ns=v[len(v) * 99 // 100], max_ns=v[-1])
    print(json.dumps(out))


main()
