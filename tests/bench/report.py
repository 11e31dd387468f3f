#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
#
# tests/bench/report.py LOG... OUTDIR [--command CMD]: collect the
# "BENCHREC" records the benchmark cases printed on the VM console (LOG),
# take the median of every figure over the repetitions, and write
#   OUTDIR/latest.json  the table, the targets and every raw record
#   OUTDIR/latest.txt   the table and the targets as printed
#   OUTDIR/latest.md    the same as Markdown tables (for README.md)
#   OUTDIR/latest.png   a chart of the ratios (gnuplot), when gnuplot exists
# With several LOGs (e.g. one case run again in a later boot), the records
# of a scenario come from the last LOG that has that scenario; the ratios
# of one target always come from one scenario, so from one boot.
# The table goes to stdout too.  Exit status 0 when records were found (a
# missed target is a result, not an error), 1 otherwise.
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys

MAIN = ["randwrite4k", "randread4k", "seqwrite1m", "seqread1m", "syncwrite4k"]
DESC = {
    "randwrite4k": "4k random write qd16",
    "randread4k": "4k random read qd16 x2 jobs",
    "seqwrite1m": "1M sequential write qd4",
    "seqread1m": "1M sequential read qd4 x2 jobs",
    "syncwrite4k": "4k write+fsync qd1",
    "remote_randread4k": "remote B +1ms: 4k random read qd16 x2",
    "remote_write4k_qd1": "remote B +1ms: 4k random write qd1",
    "resync_idle": "resync 25% of regions, idle legs",
    "resync_load": "paced 4k randrw (2x1000/s) p99",
    "check_idle": "online verify of every region, idle legs",
    "check_load": "paced 4k randrw (2x1000/s) p99, check",
    "site_randwrite4k_qd16": "two sites: 4k random write qd16",
    "site_randwrite4k_qd1": "two sites: 4k random write qd1",
    "site_seqwrite1m": "two sites: 1M sequential write qd4",
    "site_randread4k": "two sites: 4k random read qd16",
    "cl_both_randwrite4k": "active-active: 4k random write qd16, both sites at once",
    "cl_both_randread4k": "active-active: 4k random read qd16, both sites at once",
    "cl_randwrite4k_qd16": "active-active: 4k random write qd16 at site A",
    "cl_randwrite4k_qd1": "active-active: 4k random write qd1 at site A",
    "cl_region": "active-active: single 4k writes by region owner, p50 us",
}
# Two sites (tests/bench/two-site/): x raw is against the remote leg alone
# for writes (the floor of a synchronous mirror), the local leg for reads;
# x md is against md raid1 with the remote leg write-mostly.
SITE = ["site_randwrite4k_qd16", "site_randwrite4k_qd1", "site_seqwrite1m", "site_randread4k"]
SITE_SYSTEMS = ["local", "remote", "linear", "metro", "metro_direct", "md", "drbd"]
SYSTEMS = ["raw", "linear", "metro", "metro_direct", "mirror", "md"]
# Active-active (tests/bench/two-site/bench_cluster.sh): the systems of the
# both-sites scenarios carry the site (cmetro_A, smetro_B...), and x raw is
# against the same site's single-host volume (writes) or own leg (reads);
# cl_both_randwrite4k also has the remote leg alone written at both sites at
# once (remote_A/B) and by each site alone (remote1_A/B, their x raw base);
# in the site-A scenarios x raw is against the single-host volume and x md
# against md-cluster.  cl_region holds single-write latencies (p50, us):
# x raw is against the same site's write to a region it owns.
CL_BOTH = ["cl_both_randwrite4k", "cl_both_randread4k"]
CL_A = ["cl_randwrite4k_qd16", "cl_randwrite4k_qd1"]
CL_SYSTEMS = ["cmetro", "smetro", "mdcluster", "drbd_dual"]
CL_REGION = ["owned_A", "first_fresh_A", "first_remote_A", "owned_B", "first_remote_B",
             "pingpong_A", "pingpong_B"]
MB_SCEN = {"seqwrite1m", "seqread1m", "resync_idle", "check_idle", "site_seqwrite1m"}
# The single-VM throughput cases again, run with the guest clock counting
# instructions (bench_icount in tests/bench/run.sh): their scenarios carry this
# prefix, and their targets this suffix.
ICOUNT = "icount_"
ICOUNT_TAG = " [icount]"


def records(log):
    out = []
    pat = re.compile(r"BENCHREC (\{.*\})\s*$")
    with open(log, errors="replace") as f:
        for line in f:
            m = pat.search(line.rstrip("\r\n"))
            if m:
                out.append(json.loads(m.group(1)))
    return out


def fmt(x, nd=0):
    return "-" if x is None else ("%%.%df" % nd) % x


def target_cells(t):
    """A target's spread over the repetitions ("lo-hi", the paired
    ratios), how many of them met it ("k/n") and dm-linear's figure."""
    reps = t["reps"]
    spread = "%.2f-%.2f" % (min(reps), max(reps)) if reps else "-"
    tally = "%d/%d" % (t["reps_met"], len(reps)) if reps else "-"
    return spread, tally, fmt(t["dm_linear"], 2)


def med(recs, key):
    vals = [r[key] for r in recs if key in r]
    return statistics.median(vals) if vals else None


def main():
    args = sys.argv[1:]
    command = "make bench"
    if "--command" in args:
        i = args.index("--command")
        command = args[i + 1]
        del args[i:i + 2]
    if len(args) < 2:
        sys.exit("usage: report.py LOG... OUTDIR [--command CMD]")
    logs, outdir = args[:-1], args[-1]
    recs = []
    for log in logs:
        new = records(log)
        scen = {r["scenario"] for r in new}
        recs = [r for r in recs if r["scenario"] not in scen] + [dict(r, log=os.path.basename(log)) for r in new]
    if not recs:
        print("report.py: no BENCHREC records in %s" % " ".join(logs), file=sys.stderr)
        return 1

    groups = {}
    for r in recs:
        key = (r["scenario"], r["system"], r.get("dir", ""))
        groups.setdefault(key, []).append(r)
    # The resync time runs from a kmsg marker written before the
    # `dmsetup message` that starts it; the time a dmsetup exec takes
    # (measured after each run, it varies with the host's load) is taken
    # off, but only its smallest value over the repetitions, so that a
    # slow measurement of it cannot flatter the resync.
    rsi = groups.get(("resync_idle", "metro", ""), [])
    if rsi and all("raw_secs" in r for r in rsi):
        corr = min(r["msg_secs"] for r in rsi)
        for r in rsi:
            r["secs"] = r["raw_secs"] - corr
            r["mbps"] = r["bytes"] / r["secs"] / 1e6
            r["msg_correction_secs"] = corr
    fig = {}
    for key, rs in groups.items():
        fig[key] = {k: med(rs, k) for k in rs[0] if isinstance(rs[0][k], (int, float)) and k != "rep"}
        fig[key]["reps"] = len(rs)

    def vkey(scen):
        if scen == "cl_region":
            return "p50_us"
        return "mbps" if scen.replace(ICOUNT, "", 1) in MB_SCEN else "iops"

    def val(scen, system, d=""):
        return fig.get((scen, system, d), {}).get(vkey(scen))

    def ratio(a, b):
        return a / b if a is not None and b else None

    def paired(scen, a, b, d="", key=None):
        """System a over system b in one scenario, one ratio for each
        repetition both have (each run next to the other, so that a slow
        spell of the host that hit one repetition of either counts once)."""
        key = key or vkey(scen)
        ra = {r.get("rep"): r.get(key) for r in groups.get((scen, a, d), [])}
        rb = {r.get("rep"): r.get(key) for r in groups.get((scen, b, d), [])}
        pairs = [ratio(ra[k], rb[k]) for k in sorted(ra) if isinstance(k, int) and k in rb]
        return [x for x in pairs if x is not None]

    def pratio(scen, a, b, d="", key=None):
        """The median of paired(), else the ratio of the medians (e.g.
        pooled records)."""
        pairs = paired(scen, a, b, d, key)
        if pairs:
            return statistics.median(pairs)
        key = key or vkey(scen)
        fa, fb = fig.get((scen, a, d), {}), fig.get((scen, b, d), {})
        return ratio(fa.get(key), fb.get(key))

    rows = []

    def add_rows(scens, systems, base):
        """One row per (scenario, system) measured; x raw against @base(scen)."""
        for scen in scens:
            for system in systems:
                f = fig.get((scen, system, ""))
                if not f:
                    continue
                v = val(scen, system)
                rows.append({"scenario": scen, "system": system,
                             "unit": "MB/s" if vkey(scen) == "mbps" else "IOPS", "value": v,
                             "p50_us": f.get("p50_us"), "p99_us": f.get("p99_us"),
                             "vs_raw": pratio(scen, system, base(scen)),
                             "vs_md": pratio(scen, system, "md"), "reps": f["reps"]})

    remote = ["remote_randread4k", "remote_write4k_qd1"]
    remote_systems = ["fast", "slow", "linear", "metro", "metro_direct", "md"]
    add_rows(MAIN, SYSTEMS, lambda scen: "raw")
    add_rows(remote, remote_systems, lambda scen: "fast")
    add_rows(SITE, SITE_SYSTEMS, lambda scen: "local" if "read" in scen else "remote")
    for scen in CL_BOTH:
        base = "local" if "read" in scen else "smetro"
        for system in ["cmetro", base] + ([] if "read" in scen else ["remote", "remote1"]):
            for site in "AB":
                f = fig.get((scen, "%s_%s" % (system, site), ""))
                if not f:
                    continue
                rows.append({"scenario": scen, "system": "%s_%s" % (system, site),
                             "unit": "MB/s" if vkey(scen) == "mbps" else "IOPS",
                             "value": val(scen, "%s_%s" % (system, site)),
                             "p50_us": f.get("p50_us"), "p99_us": f.get("p99_us"),
                             "vs_raw": pratio(scen, "%s_%s" % (system, site), "%s_%s" % (
                                 "remote1" if system.startswith("remote") else base, site)),
                             "vs_md": None, "reps": f["reps"]})
    for scen in CL_A:
        for system in CL_SYSTEMS:
            f = fig.get((scen, system, ""))
            if f:
                rows.append({"scenario": scen, "system": system, "unit": "IOPS",
                             "value": val(scen, system), "p50_us": f.get("p50_us"),
                             "p99_us": f.get("p99_us"), "vs_raw": pratio(scen, system, "smetro"),
                             "vs_md": pratio(scen, system, "mdcluster"), "reps": f["reps"]})
    for system in CL_REGION:
        f = fig.get(("cl_region", system, ""))
        if f:
            rows.append({"scenario": "cl_region", "system": system, "unit": "us",
                         "value": f.get("p50_us"), "p50_us": f.get("p50_us"),
                         "p99_us": f.get("p99_us"),
                         "vs_raw": pratio("cl_region", system, "owned_" + system[-1]),
                         "vs_md": None, "reps": f["reps"]})
    add_rows([ICOUNT + s for s in MAIN], SYSTEMS, lambda scen: "raw")
    add_rows([ICOUNT + s for s in remote], remote_systems, lambda scen: "fast")
    for system in ["dd", "metro"]:
        f = fig.get(("resync_idle", system, ""))
        if f:
            rows.append({"scenario": "resync_idle", "system": system, "unit": "MB/s",
                         "value": f.get("mbps"), "p50_us": None, "p99_us": None,
                         "vs_raw": pratio("resync_idle", system, "dd"), "vs_md": None,
                         "reps": f["reps"], "secs": f.get("secs"), "bytes": f.get("bytes")})
    for system in ["no_resync", "during_resync"]:
        for d in ["read", "write"]:
            f = fig.get(("resync_load", system, d))
            if f:
                rows.append({"scenario": "resync_load", "system": "%s %s" % (system, d),
                             "unit": "IOPS", "value": f.get("iops"), "p50_us": f.get("p50_us"),
                             "p99_us": f.get("p99_us"),
                             "vs_raw": pratio("resync_load", system, "no_resync", d, "p99_us"),
                             "vs_md": None,
                             "reps": f["reps"]})
    # The online verify (tests/bench/cases/bench_check.sh), as the resync.
    for system in ["dd", "metro"]:
        f = fig.get(("check_idle", system, ""))
        if f:
            rows.append({"scenario": "check_idle", "system": system, "unit": "MB/s",
                         "value": f.get("mbps"), "p50_us": None, "p99_us": None,
                         "vs_raw": pratio("check_idle", system, "dd"), "vs_md": None,
                         "reps": f["reps"], "secs": f.get("secs"), "bytes": f.get("bytes")})
    for system in ["no_check", "during_check"]:
        for d in ["read", "write"]:
            f = fig.get(("check_load", system, d))
            if f:
                rows.append({"scenario": "check_load", "system": "%s %s" % (system, d),
                             "unit": "IOPS", "value": f.get("iops"), "p50_us": f.get("p50_us"),
                             "p99_us": f.get("p99_us"),
                             "vs_raw": pratio("check_load", system, "no_check", d, "p99_us"),
                             "vs_md": None,
                             "reps": f["reps"]})

    # targets
    targets = []

    def meets(value, op, limit):
        return value >= limit if op == ">=" else value <= limit if op == "<=" else value < limit

    def target(name, value, op, limit, detail, reps=None, floor=None):
        """One target.  @reps: the paired ratios of the repetitions, whose
        spread decides the verdict: "met" or "missed" when every
        repetition agrees with the median, "noise" when they fall on both
        sides of the limit.  @floor: the same ratio for dm-linear over
        one leg, where the reference is a bare leg: what any
        device-mapper target reaches at best on this measure."""
        met = None if value is None else meets(value, op, limit)
        reps = reps or []
        n_met = sum(1 for x in reps if meets(x, op, limit))
        if met is None:
            verdict = "n/a"
        elif reps and 0 < n_met < len(reps):
            verdict = "noise"
        else:
            verdict = "met" if met else "missed"
        targets.append({"target": name, "value": value, "op": op, "limit": limit,
                        "met": met, "verdict": verdict, "reps": reps, "reps_met": n_met,
                        "dm_linear": floor, "detail": detail})

    def ptarget(name, scen, a, b, op, limit, detail, d="", key=None, floor=False):
        """target() for the paired ratio of system a over b in @scen; with
        @floor, dm-linear's ratio over the same b is shown beside it."""
        target(name, pratio(scen, a, b, d, key), op, limit, detail,
               reps=paired(scen, a, b, d, key),
               floor=pratio(scen, "linear", b, d, key) if floor else None)

    def throughput_targets(pre, tag):
        """The single-VM throughput targets of the scenarios named with
        prefix @pre; @tag is added to their names."""
        ptarget("4k random write vs md raid1" + tag, pre + "randwrite4k", "metro", "md",
                ">=", 1.15, "IOPS dm-metro / md raid1")
        ptarget("4k random write vs dm-mirror" + tag, pre + "randwrite4k", "metro", "mirror",
                ">=", 2.0, "IOPS dm-metro / dm-mirror")
        ptarget("1M sequential write vs md raid1" + tag, pre + "seqwrite1m", "metro", "md",
                ">=", 1.2, "MB/s dm-metro / md raid1")
        # The read targets, then the same for the volume with read_mode
        # direct (metro_direct: reads without the deadline's bounce copy)
        reads = [("randread4k", "4k random read vs md raid1", "md", 1.0, "IOPS %s / md raid1"),
                 ("seqread1m", "1M sequential read vs md raid1", "md", 1.0, "MB/s %s / md raid1"),
                 ("remote_randread4k", "remote leg: read IOPS vs raw fast leg", "fast", 0.9,
                  "IOPS %s / fast leg alone")]
        for scen, what, base, limit, detail in reads:
            ptarget(what + tag, pre + scen, "metro", base, ">=", limit, detail % "dm-metro",
                    floor=base != "md")
        for scen, what, base, limit, detail in reads:
            if fig.get((pre + scen, "metro_direct", "")):
                ptarget(what + ", read_mode direct" + tag, pre + scen, "metro_direct", base,
                        ">=", limit, detail % "dm-metro without the read bounce",
                        floor=base != "md")
        ptarget("remote leg: write p50 vs slow leg" + tag, pre + "remote_write4k_qd1", "metro",
                "slow", "<=", 1.1, "write p50 dm-metro / slow leg alone", key="p50_us")

    throughput_targets("", "")
    ptarget("resync with idle legs vs raw dd", "resync_idle", "metro", "dd",
            ">=", 0.8, "MB/s resync / dd O_DIRECT 4M")
    for d in ["read", "write"]:
        ptarget("foreground %s p99 during resync" % d, "resync_load", "during_resync",
                "no_resync", "<=", 2.0, "p99 during resync / without resync", d=d,
                key="p99_us")
    if any(r["scenario"] == "check_load" for r in recs):
        for d in ["read", "write"]:
            ptarget("foreground %s p99 during check" % d, "check_load", "during_check",
                    "no_check", "<=", 2.0, "p99 during check / without check", d=d,
                    key="p99_us")
    if any(r["scenario"] in SITE for r in recs):
        for scen, what in [("site_randwrite4k_qd16", "4k random write qd16"),
                           ("site_randwrite4k_qd1", "4k random write qd1"),
                           ("site_seqwrite1m", "1M sequential write")]:
            ptarget("two sites: %s vs remote leg" % what, scen, "metro", "remote",
                    ">=", 0.95, "dm-metro / the NVMe/TCP remote leg alone", floor=True)
        ptarget("two sites: 4k write qd1 vs DRBD", "site_randwrite4k_qd1", "metro", "drbd",
                ">=", 1.5, "IOPS dm-metro / DRBD 8.4 protocol C")
        ptarget("two sites: 4k random read vs local leg", "site_randread4k", "metro", "local",
                ">=", 0.9, "IOPS dm-metro / site A's leg alone", floor=True)
        if fig.get(("site_randread4k", "metro_direct", "")):
            ptarget("two sites: 4k random read vs local leg, read_mode direct",
                    "site_randread4k", "metro_direct", "local", ">=", 0.9,
                    "IOPS dm-metro without the read bounce / site A's leg alone", floor=True)
    if any(r["scenario"].startswith("cl_") for r in recs):
        for site in "AB":
            ptarget("active-active: 4k random write at both sites, site %s vs single host" % site,
                    "cl_both_randwrite4k", "cmetro_" + site, "smetro_" + site, ">=", 0.95,
                    "IOPS clustered, both sites writing / single-host volume, the site alone")
        for site in "AB":
            ptarget("active-active: 4k random read at both sites, site %s vs own leg" % site,
                    "cl_both_randread4k", "cmetro_" + site, "local_" + site, ">=", 0.9,
                    "IOPS clustered dm-metro / the site's own leg alone")
        for scen, what in [("cl_randwrite4k_qd1", "qd1"), ("cl_randwrite4k_qd16", "qd16")]:
            ptarget("active-active: 4k random write %s vs DRBD dual-primary" % what, scen,
                    "cmetro", "drbd_dual", ">=", 1.5, "IOPS clustered dm-metro / DRBD 8.4 two primaries")
            ptarget("active-active: 4k random write %s vs md-cluster" % what, scen,
                    "cmetro", "mdcluster", ">=", 1.2, "IOPS clustered dm-metro / md-cluster raid1")
    if any(r["scenario"].startswith(ICOUNT) for r in recs):
        throughput_targets(ICOUNT, ICOUNT_TAG)
    meta = [r for r in recs if r["scenario"] == "metadata"]
    if meta:
        mdw = sum(r["md_writes"] for r in meta)
        # data writes per leg: the leg's own counter when brd counts, else
        # the volume's (every volume write goes to each leg once)
        legw = sum(r["leg_a_writes"] for r in meta)
        volw = sum(r["vol_writes"] for r in meta)
        data = legw - mdw / 2 if legw > 0 else volw
        target("metadata writes per data write (hot set)", (mdw / 2) / data if data else None,
               "<", 0.01, "md_writes/2 per leg over %d data writes per leg (%s)"
               % (data, "leg stat" if legw > 0 else "volume stat"))

    now = datetime.datetime.now(datetime.timezone.utc)
    result = {"date": now.strftime("%Y-%m-%d %H:%M UTC"), "command": command,
              "note": "qemu TCG (emulated CPU), brd ramdisk legs: compare ratios only",
              "rows": rows, "targets": targets, "records": recs}
    os.makedirs(outdir, exist_ok=True)

    lines = ["dm-metro benchmark, %s, %s (TCG: compare ratios only)" % (result["date"], command),
             "%-22s %-22s %12s %10s %10s %7s %7s" % ("scenario", "system", "IOPS|MB/s", "p50 us",
                                                   "p99 us", "x raw", "x md")]
    for r in rows:
        lines.append("%-22s %-22s %12s %10s %10s %7s %7s" % (
            r["scenario"], r["system"], fmt(r["value"], 1 if r["unit"] == "MB/s" else 0) + (" MB/s" if r["unit"] == "MB/s" else ""),
            fmt(r["p50_us"], 1), fmt(r["p99_us"], 1), fmt(r["vs_raw"], 2), fmt(r["vs_md"], 2)))
    lines.append("(remote_*: x raw = vs the fast leg alone; resync_idle: x raw = vs dd;"
                 " resync_load: x raw = p99 / p99 without resync;"
                 " check_idle: x raw = vs dd reading both legs; check_load: x raw = p99 / p99 without check;")
    lines.append(" site_*: x raw = vs the remote leg alone for writes, the local leg for reads;")
    lines.append(" cl_both_*: x raw = vs the same site's single-host volume (writes), own leg (reads);"
                 " cl_randwrite*: x raw = vs single-host,")
    lines.append(" x md = vs md-cluster; cl_region: p50 us of single writes, x raw = vs a write to a"
                 " region the site owns)")
    for site in "AB":
        c = pratio("cl_both_randwrite4k", "remote_" + site, "remote1_" + site)
        if c is not None:
            lines.append("cl_both_randwrite4k site %s: the remote leg alone, written at both sites at"
                         " once / by this site alone: %.2f (what the shared CPUs cost)" % (site, c))
    for line in dlm_round_trips(groups):
        lines.append(line)
    lines.append("")
    tfmt = "%-64s %7s %8s %11s %5s %9s  %s"
    lines.append(tfmt % ("target", "value", "needed", "reps", "met", "dm-linear", "result"))
    for t in targets:
        lines.append(tfmt % ((t["target"], fmt(t["value"], 3), "%s %g" % (t["op"], t["limit"]))
                             + target_cells(t) + ({"missed": "MISSED"}.get(t["verdict"], t["verdict"]),)))
    lines.append("(value: median of the paired ratios; reps: their lowest and highest, which with n"
                 " repetitions cover the median with")
    lines.append(" probability 1 - 2^(1-n) (75% for 3, 94% for 5); met: how many of them meet the"
                 " target; noise: some do and some")
    lines.append(" do not; dm-linear: the same ratio for dm-linear over one leg, the best any dm"
                 " target does)")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    with open(os.path.join(outdir, "latest.txt"), "w") as f:
        f.write(text)
    with open(os.path.join(outdir, "latest.json"), "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    with open(os.path.join(outdir, "latest.md"), "w") as f:
        f.write(markdown(rows, targets))
    chart(rows, targets, outdir)
    return 0


def dlm_round_trips(groups):
    """What a first write to a region another node owns costs, in link
    round trips: (its p50 - the p50 of a write to an owned region) / the
    ping round trip, per site, and the same for the ping-pong writes."""
    ping = [r["rtt_ms"] for r in groups.get(("cl_region", "ping", ""), []) if r.get("rtt_ms")]
    if not ping:
        return []
    rtt_us = statistics.median(ping) * 1000
    out = []
    for site in "AB":
        owned = [r["p50_us"] for r in groups.get(("cl_region", "owned_" + site, ""), [])]
        if not owned:
            continue
        base = statistics.median(owned)
        for what in ["first_remote", "first_fresh", "pingpong"]:
            v = [r["p50_us"] for r in groups.get(("cl_region", "%s_%s" % (what, site), ""), [])]
            if v:
                out.append("cl_region site %s: %s costs %.0f us over owned (%.0f us), %.1f link round"
                           " trips of %.0f us" % (site, what, statistics.median(v) - base, base,
                                                  (statistics.median(v) - base) / rtt_us, rtt_us))
    return out


def markdown(rows, targets):
    """The table and the targets as Markdown, for README.md."""
    out = ["| scenario | system | IOPS or MB/s | p50 us | p99 us | x raw | x md |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        v = fmt(r["value"], 1) + " MB/s" if r["unit"] == "MB/s" else fmt(r["value"])
        out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            r["scenario"], r["system"], v, fmt(r["p50_us"]), fmt(r["p99_us"]),
            fmt(r["vs_raw"], 2), fmt(r["vs_md"], 2)))
    out += ["", "| target | measured | needed | repetitions | met | dm-linear | |",
            "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for t in targets:
        out.append("| %s | %s | %s %g | %s | %s | %s | %s |" % (
            (t["target"], fmt(t["value"], 3), t["op"].replace("<", "&lt;"), t["limit"])
            + target_cells(t) + ({"missed": "**missed**"}.get(t["verdict"], t["verdict"]),)))
    return "\n".join(out) + "\n"


def chart(rows, targets, outdir):
    gp = shutil.which("gnuplot")
    if not gp:
        print("report.py: gnuplot not installed (make deps): no chart", file=sys.stderr)
        return
    dat = os.path.join(outdir, ".chart-main.dat")
    with open(dat, "w") as f:
        for scen in MAIN:
            by = {r["system"]: r["vs_md"] for r in rows if r["scenario"] == scen}
            f.write("%s %s\n" % (scen, " ".join("%.4f" % by[s] if by.get(s) is not None else "NaN"
                                                for s in ["raw", "linear", "metro", "mirror"])))
    tdat = os.path.join(outdir, ".chart-targets.dat")
    with open(tdat, "w") as f:
        for i, t in enumerate(targets):
            if t["value"] is None:
                continue
            # 1.0 = exactly on the target; above 1 = met (inverted for <=)
            score = t["value"] / t["limit"] if t["op"] == ">=" else t["limit"] / t["value"] if t["value"] else 10
            f.write("%d \"%s\" %.4f %d\n" % (i, t["target"].replace('"', "'"), min(score, 10),
                                              {"met": 1, "noise": 2}.get(t["verdict"], 0)))
    png = os.path.join(outdir, "latest.png")
    # the throughput panel only when the single-VM table was measured
    has_main = any(r["scenario"] in MAIN for r in rows)
    panel = """set title "Throughput relative to md raid1 (same run, TCG)"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set ylabel "x md raid1"
set yrange [0:*]
set grid ytics
set key top left
set xtics nomirror
plot "%s" using 2:xtic(1) title "raw leg", "" using 3 title "dm-linear", "" using 4 title "dm-metro", "" using 5 title "dm-mirror", 1 with lines lc "black" dt 2 notitle
"""
    script = """
set terminal pngcairo noenhanced size 1200,900 font ",10"
set output "%s"
set multiplot layout %d,1
%s
set title "Targets: measured / required (>= 1 means met; orange: repetitions on both sides)"
set style data boxes
set boxwidth 0.6
set ylabel "margin"
set logscale y
set yrange [0.1:10]
set xtics rotate by 25 right font ",8"
set bmargin 9
set lmargin 14
unset key
plot "%s" using 1:3:($4 == 1 ? 0x2e8b57 : $4 == 2 ? 0xe69f00 : 0xcd3333):xtic(2) with boxes lc rgb variable, 1 with lines lc "black" dt 2
unset multiplot
""" % (png, 2 if has_main else 1, panel % dat if has_main else "", tdat)
    r = subprocess.run([gp], input=script, text=True, capture_output=True)
    if r.returncode != 0:
        print("report.py: gnuplot failed: %s" % r.stderr, file=sys.stderr)
    os.unlink(dat)
    os.unlink(tdat)


if __name__ == "__main__":
    sys.exit(main())
