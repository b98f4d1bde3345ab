#!/usr/bin/env python3
"""Sends Neighbour Solicitations out of DEV for the TARGETs in turn and times each Neighbour
Advertisement that comes back against the solicitation it answers (scripts/bench-ndp runs it inside
a lab namespace): first 1000 a millisecond apart (the latency of an idle responder), then COUNT as
fast as it can (how many a responder answers at full speed, and how late).
Each solicitation has a source address of its own (PREFIX:0:1:0:0:0 + i, PREFIX the first target's
/64): every responder answers to the solicitor's address, so an answer names the solicitation it
belongs to even when the targets repeat. A responder that sends through the kernel (ndppd) needs a
route to them: PREFIX:0:1::/80 via this host (bench-ndp adds it). Send times are taken just before each send, answer times
by the kernel as the frame arrives (SO_TIMESTAMPNS), both on the same clock.
Before the measured burst, one solicitation for the first target goes out every 10 ms until one is
answered (at most 10 s): a responder that starts in the background (ndppd) is ready by then.
NOISE other IPv6 frames (UDP to ff02::1) go out with each solicitation: traffic a responder without
a socket filter has to read and throw away.
Prints one line: the burst's solicitations, those answered and the fraction; the paced median
latency in microseconds and how many paced ones were answered; the burst's median latency, answers
per second and length; and the frames the counting socket dropped (0, or the counts are low)."""
import ipaddress, os, pickle, socket, struct, sys, time

dev, count, noise = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
targets = [ipaddress.IPv6Address(t).packed for t in sys.argv[4:]]
if not targets:
    sys.exit("usage: ndp-flood.py DEV COUNT NOISE TARGET...")
ETH_P_IPV6 = 0x86DD
SOL_PACKET, PACKET_STATISTICS, PACKET_IGNORE_OUTGOING = 263, 6, 23
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
QUIET_AFTER = 1.0  # seconds the counter keeps listening after the last solicitation
PACED = 1000  # solicitations sent a millisecond apart before the burst, for the latency


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


def source(i):
    """The source address of solicitation i: PREFIX:0:1:0:0:0 + i."""
    return targets[0][:8] + struct.pack("!HHI", 1, 0, i)


def solicitation(target, src):
    group = ipaddress.IPv6Address("ff02::1:ff00:0").packed[:13] + target[13:]
    ns = struct.pack("!BBHI", 135, 0, 0, 0) + target + bytes([1, 1]) + mac
    ns = checked(src, group, 58, ns, 2)
    return b"\x33\x33" + group[12:] + mac + b"\x86\xdd" + ip6(src, group, 58, ns)


s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6))
s.bind((dev, ETH_P_IPV6))
mac = s.getsockname()[4][:6]
paced = [solicitation(targets[i % len(targets)], source(i)) for i in range(PACED)]
frames = [solicitation(targets[i % len(targets)], source(i)) for i in range(PACED, PACED + count)]
probe_src = targets[0][:8] + struct.pack("!HHI", 1, 1, 0)  # PREFIX:0:1:1:0:0, beyond any i
probe = solicitation(targets[0], probe_src)
allnodes = ipaddress.IPv6Address("ff02::1").packed
me = targets[0][:8] + bytes(7) + b"\x02"
udp = checked(me, allnodes, 17, struct.pack("!HHHH", 9, 9, 8 + 32, 0) + bytes(32), 6)
junk = b"\x33\x33\x00\x00\x00\x01" + mac + b"\x86\xdd" + ip6(me, allnodes, 17, udp, 1)

to_counter_r, to_counter_w = os.pipe()
from_counter_r, from_counter_w = os.pipe()
pid = os.fork()
if pid == 0:  # the counter, in its own process so the sender does not share its interpreter
    os.close(to_counter_w)
    os.close(from_counter_r)
    rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6))
    rx.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
    rx.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 1 << 26)
    rx.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    rx.bind((dev, ETH_P_IPV6))
    rx.setblocking(False)
    os.write(from_counter_w, b"r")  # ready
    answers, probed, ended = {}, False, None
    while ended is None or time.monotonic() < ended:
        if ended is None:
            # the sender says `p` once the probe was answered, `e` after the last solicitation
            import select
            ready, _, _ = select.select([rx, to_counter_r], [], [], 0.05)
            if to_counter_r in ready:
                word = os.read(to_counter_r, 1)
                if word == b"e" or not word:
                    ended = time.monotonic() + QUIET_AFTER
                continue
        try:
            f, anc, _, _ = rx.recvmsg(2048, 64)
        except BlockingIOError:
            if ended is not None:
                time.sleep(0.001)
            continue
        if len(f) < 78 or f[20] != 58 or f[54] != 136:
            continue
        dst = f[38:54]
        if dst == probe_src and not probed:
            probed = True
            os.write(from_counter_w, b"p")
            continue
        at = None
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, nsec = struct.unpack("qq", data[:16])
                at = sec * 1_000_000_000 + nsec
        if at is not None and dst not in answers:
            answers[dst] = at
    packets, drops = struct.unpack("II", rx.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
    os.write(from_counter_w, b"d" + pickle.dumps((answers, drops)))
    os._exit(0)
os.close(to_counter_r)
os.close(from_counter_w)
os.read(from_counter_r, 1)

# wait for the responder: a probe every 10 ms until one is answered
os.set_blocking(from_counter_r, False)
deadline, ready = time.monotonic() + 10, False
while not ready and time.monotonic() < deadline:
    s.send(probe)
    time.sleep(0.01)
    try:
        ready = os.read(from_counter_r, 1) == b"p"
    except BlockingIOError:
        pass
os.set_blocking(from_counter_r, True)
if not ready:
    os.write(to_counter_w, b"e")
    print("sent 0 answered 0: the probe was never answered (is a responder running?)")
    sys.exit(1)

sent_at = [0] * (PACED + count)
# paced: one solicitation a millisecond, each answered (or not) long before the next
for i in range(PACED):
    sent_at[i] = time.time_ns()
    s.send(paced[i])
    time.sleep(0.001)
started = time.time_ns()
for i, frame in enumerate(frames, PACED):
    while True:
        sent_at[i] = time.time_ns()
        try:
            s.send(frame)
            break
        except OSError:  # a full queue: send it again
            continue
    for _ in range(noise):
        try:
            s.send(junk)
        except OSError:
            pass
burst = (time.time_ns() - started) / 1e9
os.write(to_counter_w, b"e")
data = b""
while True:
    chunk = os.read(from_counter_r, 1 << 20)
    if not chunk:
        break
    data += chunk
os.waitpid(pid, 0)
answers, drops = pickle.loads(data[data.index(b"d") + 1:])


def latencies(first, last):
    return sorted((answers[source(i)] - sent_at[i]) / 1000 for i in range(first, last) if source(i) in answers)


def median(v):
    return v[len(v) // 2] if v else float("nan")


paced_us, burst_us = latencies(0, PACED), latencies(PACED, PACED + count)
n = len(burst_us)
print(
    f"sent {count} answered {n} fraction {n / count:.3f} median_us {median(paced_us):.0f} "
    f"paced_answered {len(paced_us)}/{PACED} burst_median_us {median(burst_us):.0f} "
    f"answers/s {n / burst:.0f} burst_s {burst:.3f} counter_drops {drops}"
)
