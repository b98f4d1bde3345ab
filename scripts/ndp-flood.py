#!/usr/bin/env python3
"""Floods Neighbour Solicitations for addresses of PREFIX/64 out of DEV for SECONDS and counts the
Neighbour Advertisements that come back (scripts/bench-ndp runs it inside a lab namespace).
NOISE other IPv6 frames (UDP to ff02::1) go out with each solicitation: traffic a responder without a
socket filter has to read and throw away. Prints one line: sent, answered, answers/s."""
import ipaddress, os, socket, struct, sys, time

dev, seconds, prefix, src, noise = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
ETH_P_IPV6 = 0x86DD


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip6(src, dst, nh, payload, hop=255):
    return struct.pack("!IHBB", 6 << 28, len(payload), nh, hop) + src + dst + payload


def checked(src, dst, nh, payload, at):
    pseudo = src + dst + struct.pack("!I3xB", len(payload), nh)
    c = csum(pseudo + payload)
    return payload[:at] + struct.pack("!H", c) + payload[at + 2:]


s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6))
s.bind((dev, ETH_P_IPV6))
mac = s.getsockname()[4][:6]
base = ipaddress.IPv6Address(prefix).packed
me = ipaddress.IPv6Address(src).packed
frames = []
for i in range(4096):
    target = base[:8] + b"\x80\0\0\0" + struct.pack("!I", i)
    group = ipaddress.IPv6Address("ff02::1:ff00:0").packed[:13] + target[13:]
    ns = struct.pack("!BBHI", 135, 0, 0, 0) + target + bytes([1, 1]) + mac
    ns = checked(me, group, 58, ns, 2)
    frames.append(b"\x33\x33" + group[12:] + mac + b"\x86\xdd" + ip6(me, group, 58, ns))
allnodes = ipaddress.IPv6Address("ff02::1").packed
udp = checked(me, allnodes, 17, struct.pack("!HHHH", 9, 9, 8 + 32, 0) + bytes(32), 6)
junk = b"\x33\x33\x00\x00\x00\x01" + mac + b"\x86\xdd" + ip6(me, allnodes, 17, udp, 1)

r, w = os.pipe()
pid = os.fork()
if pid == 0:  # the counter, in its own process so the sender does not share its interpreter
    os.close(r)
    rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6))
    rx.bind((dev, ETH_P_IPV6))
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
    rx.settimeout(0.2)
    os.write(w, b"r")  # ready
    n, end = 0, time.monotonic() + seconds + 1.0
    while time.monotonic() < end:
        try:
            f, addr = rx.recvfrom(2048)
        except socket.timeout:
            continue
        if addr[2] != socket.PACKET_OUTGOING and len(f) > 54 and f[20] == 58 and f[54] == 136:
            n += 1
    os.write(w, str(n).encode())
    os._exit(0)
os.close(w)
os.read(r, 1)
sent, i, end = 0, 0, time.monotonic() + seconds
while time.monotonic() < end:
    for _ in range(64):
        try:
            s.send(frames[i & 4095])
        except OSError:  # a full queue: try the next
            continue
        sent += 1
        i += 1
        for _ in range(noise):
            try:
                s.send(junk)
            except OSError:
                pass
answered = int(os.read(r, 64) or b"0")
os.waitpid(pid, 0)
print(f"sent {sent} answered {answered} answers/s {answered / seconds:.0f}")
