#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# Latency of single 4 KiB O_DIRECT writes, each timed on its own, for the
# region-ownership part of tests/bench/two-site/bench_cluster.sh (runs in
# the two-site guests, where fio would time a whole job, not one write):
#
#   region_lat.py write DEV OUT OFFSET...
#       one write at each OFFSET (bytes), in order, back to back
#   region_lat.py pingpong DEV OUT OFFSET N TURN DIR TAG
#       N writes at OFFSET shared by two sites, alternately: write i is
#       this site's when i % 2 == TURN; it waits until DIR/TAG.<i-1>
#       exists (the other site's write i-1 completed), writes, then makes
#       DIR/TAG.<i>.  Only the write is timed, not the wait.
#
# OUT gets a JSON object {"lat_us": [...]}: every write's latency in
# microseconds, in the order written.  Exit status 1 on an I/O error or
# when the other site's turn does not come within 60 s.
import json
import mmap
import os
import sys
import time

BS = 4096


def open_dev(dev):
    fd = os.open(dev, os.O_WRONLY | os.O_DIRECT)
    buf = mmap.mmap(-1, BS)  # page aligned, as O_DIRECT needs
    buf.write(bytes([0x5a]) * BS)
    return fd, buf


def timed_write(fd, buf, off):
    t0 = time.perf_counter_ns()
    n = os.pwrite(fd, buf, off)
    t1 = time.perf_counter_ns()
    if n != BS:
        sys.exit("region_lat.py: short write at %d: %d bytes" % (off, n))
    return (t1 - t0) / 1000.0


def wait_file(path, timeout=60.0):
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > end:
            sys.exit("region_lat.py: no %s in %gs: the other site's turn did not come" % (path, timeout))
        time.sleep(0.01)


def main():
    a = sys.argv[1:]
    if len(a) >= 4 and a[0] == "write":
        dev, out, offs = a[1], a[2], [int(x) for x in a[3:]]
        fd, buf = open_dev(dev)
        lat = [timed_write(fd, buf, off) for off in offs]
    elif len(a) == 8 and a[0] == "pingpong":
        dev, out, off, n, turn, d, tag = a[1], a[2], int(a[3]), int(a[4]), int(a[5]), a[6], a[7]
        fd, buf = open_dev(dev)
        lat = []
        for i in range(n):
            if i % 2 != turn:
                continue
            if i > 0:
                wait_file(os.path.join(d, "%s.%d" % (tag, i - 1)))
            lat.append(timed_write(fd, buf, off))
            open(os.path.join(d, "%s.%d" % (tag, i)), "w").close()
    else:
        sys.exit("usage: region_lat.py write DEV OUT OFFSET... | pingpong DEV OUT OFFSET N TURN DIR TAG")
    os.close(fd)
    with open(out, "w") as f:
        json.dump({"lat_us": lat}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
