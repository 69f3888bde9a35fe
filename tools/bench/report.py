#!/usr/bin/env python3
"""Turns compare.sh's JSON lines into bench/results/<date>.md and .png.

Each input line is {"server", "workload", "loadgen_rc", "timed_out",
"server_crashed", "server_baseline_rss_kb", "wall_seconds", "loadgen_args",
"note", "result": <loadgen's --json object or null>}.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import textwrap

WORKLOADS = ["fanout", "crowd", "crowd1k", "overload", "bigroom",
             "bigroom20", "idle"]
TRAFFIC_WORKLOADS = ["fanout", "crowd", "crowd1k", "overload", "bigroom",
                     "bigroom20"]
WORKLOAD_TEXT = {
    "fanout": "1,000 connections, 50 groups of 20, all sending closed-loop "
              "(window 16), 64-byte payloads",
    "crowd": "10,000 connections, 100 groups of 100, 2,000 messages/s in "
             "total, 64-byte payloads",
    "crowd1k": "as crowd at half the rate, 1,000 messages/s in total: "
               "latency below saturation",
    "overload": "as crowd at a higher rate (by default three times it, "
                "6,000 messages/s in total = 594,000 deliveries/s offered; "
                "the rate of a run is in its `loadgen_args`), chatd with "
                "its default limits "
                "(20 messages/s per member, burst 50, 1 MiB of output per "
                "client) instead of limits off; peers as in every other "
                "workload; a longer drain",
    "bigroom": "5,000 connections in one group, 50 senders at 1 message/s "
               "(250,000 deliveries/s), 64-byte payloads",
    "bigroom20": "as bigroom at 20 messages/s (100,000 deliveries/s): "
                 "CPU cost below saturation",
    "idle": "as many idle joined connections as the fd limit allows, groups "
            "of 19, no messages",
}
PEER_NOTES = """\
- ngircd cannot be configured past three limits that matter here: a
  `listen()` backlog of 10 (loadgen keeps at most 8 connects in flight,
  `--max_connecting=8`, so no SYN is dropped), a single thread, and channel
  memberships kept in one global linked list (`My_Cl2Chan` in channel.c)
  that `Get_Cl2Chan` walks for every membership lookup. A JOIN answers with
  NAMES, which looks up each listed member's channel modes that way, so a
  join into a channel of m members costs about m x (all memberships) steps:
  joins into one channel slow to ~10/s at 4,000 members, and connecting
  slows from ~500/s to ~60/s as the total grows. loadgen's connect phase
  ends at its bound (2 x `--connect_timeout` + 10 s = 70 s); connections not
  joined by then count as failed. Penalties (flood delays) are off
  (`MaxPenaltyTime = 0`).
- ngircd's "lost" in a run where connections were still joining during the
  send phase may be partly a loadgen artefact: deliveries to connections
  that joined after sending began count towards the drain phase's total, so
  the drain can end before every member has everything.
- InspIRCd completes registrations on a once-a-second timer; loadgen keeps
  up to 4,000 connects in flight for it (`--max_connecting=4000`).
- nats-server and Redis need no special connect handling.
- `chatd-ws` and `nats-ws` are chatd and nats-server over WebSocket
  (loadgen `--transport=ws`: an HTTP/1.1 upgrade per connection, then
  masked client frames). chatd-ws is the same chatd process and command
  line as chatd, reached at `GET /ws` on its `--http_port` with subprotocol
  `chatd.line`, one TEXT message per line. nats-ws is nats-server's own
  `websocket` listener (`no_tls: true`, no compression), carrying the NATS
  protocol byte stream in BINARY frames. Only the workloads listed under
  WebSocket run over it.
- `chatd-tls`, `redis-tls` and `nats-tls` are the same servers on a TLS
  port (loadgen `--tls`, trusting the CA of `tools/dev-cert.sh`, whose
  P-256 ECDSA server certificate they all use; TLS 1.3 is negotiated).
  chatd-tls is chatd with `--tls_cert`/`--tls_key` and its line-protocol
  TLS listener (`--tls_port`); redis-tls is redis.conf's settings with
  `port 0` and `tls-port` (no client certificates); nats-tls is
  nats.conf's settings plus a `tls` block, where the client reads the
  plaintext INFO first and then starts the handshake (nats-server 2.9 has
  no `handshake_first`), with the handshake timeout raised from 0.5 s to
  10 s so that connects queued on two cores are not dropped. Only the
  workloads listed under TLS run over it.
"""

# The WebSocket rows and the goals they are held to (issue 8): chatd-ws
# against nats-ws, and against chatd's own TCP figure, in deliveries per
# server CPU-second, on fanout.
WS_SERVERS = {"chatd-ws": "chatd", "nats-ws": "nats"}
WS_WORKLOADS = ["fanout", "crowd"]
WS_GOALS = {"fanout": (2.0, 0.8)}

# The TLS rows, each next to the same server without TLS.
TLS_SERVERS = {"chatd-tls": "chatd", "redis-tls": "redis",
               "nats-tls": "nats"}
TLS_WORKLOADS = ["fanout", "idle"]

CONFIG_FILES = [
    ("chatd", "chatd.conf"),
    ("redis", "redis.conf"),
    ("nats", "nats.conf"),
    ("nats-ws", "nats-ws.conf"),
    ("redis-tls", "redis-tls.conf"),
    ("nats-tls", "nats-tls.conf"),
    ("inspircd", "inspircd.conf"),
    ("ngircd", "ngircd.conf"),
]


def read_info(path):
    info = {}
    with open(path) as f:
        for line in f:
            key, _, value = line.rstrip("\n").partition("\t")
            info[key] = value
    return info


def read_runs(path):
    runs = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                runs.append(json.loads(line))
    return runs


def verdict(run):
    """('PASS' | 'FAIL', [reasons])."""
    r = run.get("result")
    reasons = []
    if run.get("server_crashed"):
        reasons.append("server exited")
    if run.get("timed_out"):
        reasons.append("loadgen killed by timeout(1)")
    if r is None:
        if run.get("note", "").startswith("server did not start"):
            reasons.append("server did not start")
        reasons.append("no result")
        return "FAIL", reasons
    if r["failed"]:
        reasons.append(f"{r['failed']} of {r['connections']} did not join")
    if r["disconnected"]:
        reasons.append(f"{r['disconnected']} disconnected")
    if r["lost"]:
        reasons.append(f"{r['lost']} lost")
    if r["drain_timed_out"]:
        reasons.append("drain timed out")
    if r["duplicated"]:
        reasons.append(f"{r['duplicated']} duplicated")
    if r["reordered"]:
        reasons.append(f"{r['reordered']} reordered")
    if r["corrupt"]:
        reasons.append(f"{r['corrupt']} corrupt")
    if r["server_errors"]:
        reasons.append(f"{r['server_errors']} server error lines")
    passed = r.get("passed") and not run.get("server_crashed")
    return ("PASS" if passed else "FAIL"), reasons


def fmt_int(x):
    return f"{int(round(x)):,}"


def fmt_ms(us):
    ms = us / 1000.0
    if ms >= 100:
        return f"{ms:,.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    return f"{ms:.2f}"


def idle_figures(run):
    """(joined, baseline_kb, with_kb, per_conn_bytes) or None."""
    r = run.get("result")
    if r is None or not r.get("joined"):
        return None
    base = run.get("server_baseline_rss_kb") or 0
    peak = r.get("server_peak_rss_kb", 0)
    per = (peak - base) * 1024.0 / r["joined"]
    return r["joined"], base, peak, per


def traffic_table(runs, servers):
    rows = [
        "| server | workload | verdict | delivered / expected | lost | "
        "deliveries/s | p50 ms | p99 ms | max ms | server CPU-s | "
        "deliveries per CPU-s | peak RSS MiB | other procs, cores |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for workload in WORKLOADS:
        for server in servers:
            run = find(runs, server, workload)
            if run is None:
                continue
            v, reasons = verdict(run)
            vtext = v if not reasons else f"{v}: {', '.join(reasons)}"
            r = run.get("result")
            other = other_load(run)
            if r is None:
                rows.append(f"| {server} | {workload} | {vtext} |" +
                            " – |" * 9 + f" {other} |")
                continue
            if workload == "idle":
                rows.append(
                    f"| {server} | {workload} | {vtext} | "
                    f"{fmt_int(r['joined'])} joined | – | – | – | – | – | – | – | "
                    f"{r['server_peak_rss_kb'] / 1024:.1f} | {other} |")
                continue
            rows.append(
                f"| {server} | {workload} | {vtext} | "
                f"{fmt_int(r['delivered'])} / {fmt_int(r['expected'])} | "
                f"{fmt_int(r['lost'])} | {fmt_int(r['deliveries_per_sec'])} | "
                f"{fmt_ms(r['latency_us']['p50'])} | "
                f"{fmt_ms(r['latency_us']['p99'])} | "
                f"{fmt_ms(r['latency_us']['max'])} | "
                f"{r.get('server_cpu_seconds', 0):.2f} | "
                f"{fmt_int(r.get('deliveries_per_server_cpu_sec', 0))} | "
                f"{r.get('server_peak_rss_kb', 0) / 1024:.1f} | {other} |")
    return "\n".join(rows)


def overload_table(runs, servers):
    """Server memory and delivery under overload: is RSS flat?"""
    rows = [
        "| server | RSS before MiB | peak RSS MiB | VmHWM MiB | RSS at end "
        "MiB | peak RSS in crowd MiB | delivered / expected | not delivered "
        "| disconnected | send / drain s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for server in servers:
        run = find(runs, server, "overload")
        if run is None:
            continue
        r = run.get("result")
        if r is None:
            rows.append(f"| {server} |" + " – |" * 8 + " – (no result) |")
            continue
        crowd = find(runs, server, "crowd")
        crowd_r = crowd.get("result") if crowd else None
        crowd_peak = (f"{crowd_r.get('server_peak_rss_kb', 0) / 1024:.1f}"
                      if crowd_r else "–")
        drain = f"{r['drain_seconds']:.1f}"
        if r["drain_timed_out"]:
            drain += " (timed out)"
        rows.append(
            f"| {server} | "
            f"{(run.get('server_baseline_rss_kb') or 0) / 1024:.1f} | "
            f"{r.get('server_peak_rss_kb', 0) / 1024:.1f} | "
            f"{r.get('server_hwm_kb', 0) / 1024:.1f} | "
            f"{r.get('server_rss_kb', 0) / 1024:.1f} | {crowd_peak} | "
            f"{fmt_int(r['delivered'])} / {fmt_int(r['expected'])} | "
            f"{fmt_int(r['lost'])} | {fmt_int(r['disconnected'])} | "
            f"{r['send_seconds']:.1f} / {drain} |")
    return "\n".join(rows)


def other_load(run):
    """Average cores used by processes other than server and loadgen."""
    other = run.get("other_cpu_seconds")
    seconds = run.get("loadgen_seconds")
    if other is None or not seconds:
        return "–"
    return f"{other / seconds:.2f}"


def per_cpu(run):
    """(deliveries per server CPU-s, passed) of a run, or (None, False)."""
    r = run.get("result") if run else None
    if r is None or not r.get("deliveries_per_server_cpu_sec"):
        return None, False
    return r["deliveries_per_server_cpu_sec"], verdict(run)[0] == "PASS"


def ratio_cell(num, den, goal):
    """'2.31x (goal >= 2x: met)' from two per_cpu() pairs."""
    (a, a_ok), (b, b_ok) = num, den
    if a is None or b is None:
        return "– (no result)"
    text = f"{a / b:.2f}x"
    notes = []
    if goal is not None:
        notes.append(f"goal ≥ {goal:g}x: " + ("met" if a / b >= goal
                                              else "missed"))
    if not (a_ok and b_ok):
        notes.append("a run failed")
    return text + (f" ({'; '.join(notes)})" if notes else "")


def websocket_table(runs):
    """chatd-ws vs nats-ws and vs chatd over TCP, per server CPU-second."""
    rows = [
        "| workload | chatd-ws | nats-ws | chatd (TCP) | nats (TCP) | "
        "chatd-ws / nats-ws | chatd-ws / chatd (TCP) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for workload in WS_WORKLOADS:
        figs = {s: per_cpu(find(runs, s, workload))
                for s in ("chatd-ws", "nats-ws", "chatd", "nats")}
        if figs["chatd-ws"][0] is None and figs["nats-ws"][0] is None:
            continue
        goals = WS_GOALS.get(workload, (None, None))

        def cell(s):
            v, ok = figs[s]
            if v is None:
                return "–"
            return fmt_int(v) + ("" if ok else " (FAIL)")

        rows.append(
            f"| {workload} | {cell('chatd-ws')} | {cell('nats-ws')} | "
            f"{cell('chatd')} | {cell('nats')} | "
            f"{ratio_cell(figs['chatd-ws'], figs['nats-ws'], goals[0])} | "
            f"{ratio_cell(figs['chatd-ws'], figs['chatd'], goals[1])} |")
    return "\n".join(rows)


def tls_table(runs):
    """Each TLS server against itself without TLS: per delivery, per idle
    connection."""
    rows = [
        "| server | fanout: deliveries per CPU-s, TLS | without TLS | "
        "TLS / without | idle: RSS per connection, TLS | without TLS | "
        "TLS - without |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for tls, plain in TLS_SERVERS.items():
        runs_of = {(s, w): find(runs, s, w)
                   for s in (tls, plain) for w in TLS_WORKLOADS}
        if not any(runs_of[(tls, w)] for w in TLS_WORKLOADS):
            continue
        fan = {s: per_cpu(runs_of[(s, "fanout")]) for s in (tls, plain)}

        def cell(s):
            v, ok = fan[s]
            if v is None:
                return "–"
            return fmt_int(v) + ("" if ok else " (FAIL)")

        idle = {}
        for s in (tls, plain):
            run = runs_of[(s, "idle")]
            fig = idle_figures(run) if run else None
            idle[s] = fig[3] / 1024.0 if fig else None

        def kib(v):
            return "–" if v is None else f"{v:.2f} KiB"

        diff = ("–" if idle[tls] is None or idle[plain] is None
                else f"{idle[tls] - idle[plain]:+.2f} KiB")
        rows.append(
            f"| {tls} | {cell(tls)} | {cell(plain)} | "
            f"{ratio_cell(fan[tls], fan[plain], None)} | "
            f"{kib(idle[tls])} | {kib(idle[plain])} | {diff} |")
    return "\n".join(rows)


def idle_table(runs, servers):
    rows = [
        "| server | idle connections joined | RSS before MiB | RSS with them "
        "MiB (peak) | RSS per connection |",
        "|---|---:|---:|---:|---:|",
    ]
    for server in servers:
        run = find(runs, server, "idle")
        if run is None:
            continue
        fig = idle_figures(run)
        if fig is None:
            rows.append(f"| {server} | – | – | – | – (no result) |")
            continue
        joined, base, peak, per = fig
        rows.append(f"| {server} | {fmt_int(joined)} | {base / 1024:.1f} | "
                    f"{peak / 1024:.1f} | {per / 1024:.2f} KiB |")
    return "\n".join(rows)


def find(runs, server, workload):
    for run in runs:
        if run["server"] == server and run["workload"] == workload:
            return run
    return None


def failed_runs(runs):
    return [f"{r['server']}/{r['workload']}" for r in runs
            if verdict(r)[0] != "PASS"]


# Okabe-Ito colours: they stay apart for the common colour-vision
# deficiencies, and each server keeps its colour in every panel.
SERVER_COLORS = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9",
                 "#d55e00", "#f0e442", "#000000",
                 # Beyond Okabe-Ito's eight (with the TLS rows there are
                 # ten servers): Tol's wine, teal and grey.
                 "#882255", "#44aa99", "#999999"]
# Beyond this max/min ratio a linear axis squashes the small bars flat.
LOG_RATIO = 10.0
# Share of a group's slot taken by its bars; the rest separates groups.
GROUP_WIDTH = 0.8


def gp_quote(text):
    """text as a gnuplot single-quoted string, in which only ' is special."""
    return "'" + text.replace("'", "''") + "'"


def chart_value(run, key):
    """One bar's height, or None when the run has no figure to show."""
    r = run.get("result") if run else None
    if r is None:
        return None
    if key == "p99":
        us = (r.get("latency_us") or {}).get("p99")
        v = us / 1000.0 if us is not None else None
    elif key == "idle_kib":
        fig = idle_figures(run)
        v = fig[3] / 1024.0 if fig else None
    else:
        v = r.get(key)
    # A log axis has no place for 0, and a zero or negative figure here
    # means nothing was measured, so it gets no bar either.
    return v if v is not None and v > 0 else None


def fmt_bar(x):
    """Three significant digits, short enough to sit on top of a bar."""
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if x >= scale:
            return f"{x / scale:.3g}{suffix}"
    return f"{x:.3g}"


def chart_panel(name, title, ylabel, xlabel, groups, servers, values,
                si_format):
    """(datablock lines, plot lines) for one grouped bar panel.

    values[g][s] is server s's bar in group g, or None for no bar.
    """
    n = len(servers)
    # Per group: its index, the n bar heights, then the n bar labels.
    data = [f"${name} << EOD"]
    for g, row in enumerate(values):
        data.append(" ".join(
            [str(g)] + ["?" if v is None else f"{v:.6g}" for v in row] +
            ["?" if v is None else fmt_bar(v) for v in row]))
    data.append("EOD")

    present = [v for row in values for v in row if v is not None]
    log = bool(present) and max(present) / min(present) > LOG_RATIO
    lines = [
        f"set title {gp_quote(title)}",
        f"set ylabel {gp_quote(ylabel)}",
        f"set xlabel {gp_quote(xlabel)}",
        # Fixed rather than autoscaled: an empty panel has nothing to
        # autoscale on, and a missing last bar must not move the groups.
        f"set xrange [-0.5:{len(groups) - 0.5}]",
        "set xtics (" + ", ".join(
            f"{gp_quote(g)} {i}" for i, g in enumerate(groups)) + ")",
        "set logscale y" if log else "unset logscale y",
        # '%.0s%c' turns 10000000 into 10M; only decades get labels on a
        # log axis, so no mantissa is rounded away.
        "set format y '%.0s%c'" if log and si_format else "set format y",
    ]
    if present:
        # Headroom above the tallest bar for its label; on a log axis the
        # top stays on a decade so that it gets a tic label.
        top = max(present)
        if log:
            top = 10 ** math.ceil(math.log10(top * 2))
            lines.append(f"set yrange [*:{top:g}]")
        else:
            lines.append(f"set yrange [0:{top * 1.15:g}]")
        lines.append("unset label 1")
        elements = []
    else:
        lines.append("set yrange [0:1]")
        lines.append("set label 1 'no results' at graph 0.5,0.5 center")
        # A plot needs one element that is not a keyentry.
        elements = ["NaN notitle"]

    width = GROUP_WIDTH / max(n, 1)
    # Side by side, horizontal labels of bars in a crowded group overlap.
    if len(groups) > 1:
        label_style = "rotate by 90 left offset 0,0.4"
    else:
        label_style = "center offset 0,0.6"
    for s in range(n):
        color = gp_quote(SERVER_COLORS[s % len(SERVER_COLORS)])
        # Elements without a single point only draw a warning, so servers
        # without any figure here are left to their keyentry.
        if any(row[s] is not None for row in values):
            offset = (s - (n - 1) / 2.0) * width
            x = f"($1{offset:+.4f})"
            elements.append(f"${name} u {x}:{s + 2}:({width:.4f}) "
                            f"w boxes lc rgb {color} notitle")
            elements.append(f"${name} u {x}:{s + 2}:{s + 2 + n} w labels "
                            f"{label_style} font ',8' notitle")
    # keyentry, not the bars' titles, so that the legend lists every
    # server in every panel, with or without bars.
    for s, server in enumerate(servers):
        color = gp_quote(SERVER_COLORS[s % len(SERVER_COLORS)])
        elements.append(f"keyentry w boxes lc rgb {color} "
                        f"ti {gp_quote(server)}")
    lines.append("plot " + ", \\\n     ".join(elements))
    return data, lines


def write_chart(runs, servers, png, workdir):
    """2x2 PNG: deliveries/s, deliveries per CPU-s, p99, idle RSS/conn."""
    panels = [
        ("rate", "deliveries per second (higher is better)",
         "deliveries/s", "deliveries_per_sec", TRAFFIC_WORKLOADS, True),
        ("cpu", "deliveries per server CPU-second (higher is better)",
         "deliveries per server CPU-s", "deliveries_per_server_cpu_sec",
         TRAFFIC_WORKLOADS, True),
        ("p99", "p99 delivery latency (lower is better)",
         "p99 latency, ms", "p99", TRAFFIC_WORKLOADS, True),
        ("idle", "idle: server RSS per connection (lower is better)",
         "KiB per connection", "idle_kib", ["idle"], False),
    ]
    datablocks = []
    plots = []
    for name, title, ylabel, key, groups, si_format in panels:
        values = [[chart_value(find(runs, s, w), key) for s in servers]
                  for w in groups]
        data, lines = chart_panel(name, title, ylabel, "workload", groups,
                                  servers, values, si_format)
        datablocks += data
        plots += lines

    # Wrapped so that a long list of failures stays inside 1400 pixels.
    failed = textwrap.wrap("failed runs (see the table): " +
                           (", ".join(failed_runs(runs)) or "none"), 180)
    heading = "\n".join(
        ["chatd vs peers (loadgen, 127.0.0.1, same 2-core machine for "
         "client and server); missing bar = no result"] + failed)
    heading = heading.replace("\\", "\\\\").replace('"', '\\"')
    heading = heading.replace("\n", "\\n")
    # Drawn to a scratch file first: gnuplot stops at the first failing
    # plot and would leave a PNG holding just the title.
    tmp_png = png + ".tmp"
    script = "\n".join([
        "set terminal pngcairo size 1400,1000 font 'DejaVu Sans,10'",
        f"set output {gp_quote(tmp_png)}",
        "set datafile missing '?'",
        *datablocks,
        "set style fill solid 0.85 border -1",
        # Beside the plot, not above it: above, the top row's keys run
        # into the page title.
        "set key outside right top vertical",
        "set grid ytics",
        f'set multiplot layout 2,2 title "{heading}"',
        *plots,
        "unset multiplot",
        "",
    ])
    gp = os.path.join(workdir, "chart.gp")
    with open(gp, "w") as f:
        f.write(script)
    try:
        subprocess.run(["gnuplot", gp], check=True)
        os.replace(tmp_png, png)
    finally:
        if os.path.exists(tmp_png):
            os.remove(tmp_png)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jsonl", required=True)
    ap.add_argument("--info", required=True)
    ap.add_argument("--configs", required=True)
    ap.add_argument("--md", required=True)
    ap.add_argument("--png", required=True)
    ap.add_argument("--servers", required=True)
    ap.add_argument("--workdir", required=True)
    # Hand-written findings (profiles, before/after) for this date; kept in
    # their own file so re-running the report does not lose them.
    ap.add_argument("--analysis", default="")
    args = ap.parse_args()

    info = read_info(args.info)
    runs = read_runs(args.jsonl)
    servers = [s for s in args.servers.split(",")
               if any(r["server"] == s for r in runs)]

    out = []
    date = info.get("date", "")
    out.append(f"# chatd vs peers: benchmark of {date}\n")
    out.append("Produced by `tools/bench/compare.sh` (see "
               "`tools/bench/README.md`). Raw results: "
               f"[`{date}.jsonl`]({date}.jsonl), one JSON object per run "
               "(loadgen's `--json` output under `result`). Chart: "
               f"[`{date}.png`]({date}.png).\n")
    out.append("## Machine\n")
    out.append(f"- CPU: {info.get('nproc')} x {info.get('cpu')}")
    out.append(f"- RAM: {info.get('ram')}; kernel {info.get('kernel')}; "
               f"Debian {info.get('debian')}; open-file limit "
               f"{info.get('fd_limit')} per process")
    out.append(f"- load average at start / end: {info.get('loadavg_start')} "
               f"/ {info.get('loadavg_end')}")
    out.append("- loadgen and the server share the same cores (2 reactor "
               "threads in loadgen): every figure is client and server "
               "together on one small machine, over loopback.")
    out.append(f"- whole script: {info.get('runtime_seconds')} s\n")
    out.append("## Servers\n")
    for key, name in (("chatd", "chatd"), ("redis", "redis"),
                      ("nats", "nats"), ("inspircd", "inspircd"),
                      ("ngircd", "ngircd")):
        if key in servers:
            out.append(f"- {name}: {info.get('version_' + key)}")
    for key, base in WS_SERVERS.items():
        if key in servers:
            out.append(f"- {key}: {base} over WebSocket, same binary "
                       f"({info.get('version_' + base)}); see the peer "
                       "notes")
    for key, base in TLS_SERVERS.items():
        if key in servers:
            out.append(f"- {key}: {base} on a TLS port, same binary "
                       f"({info.get('version_' + base)}); "
                       f"`openssl version`: {info.get('version_openssl')}; "
                       "see the peer notes")
    out.append("")
    out.append("Each run starts a fresh server process (so peak RSS and the "
               "idle baseline are per workload).\n")
    out.append("## Workloads\n")
    for w in WORKLOADS:
        out.append(f"- `{w}`: {WORKLOAD_TEXT[w]}")
    out.append(f"\nSending lasts {info.get('duration')} s. Every run also "
               f"has `{info.get('common_args')}`; per-run flags are in the "
               "JSON lines (`loadgen_args`).\n")
    out.append("## Results\n")
    out.append(traffic_table(runs, servers))
    out.append("\nLatency is from the message's scheduled send time (open "
               "loop) or its send time (closed loop `fanout`) to its "
               "arrival. Server CPU-s is the server's user+system time "
               "over the send and drain phases; peak RSS is the largest "
               "VmRSS sampled (every 100 ms) over the whole run, connect "
               "phase included. deliveries/s counts from the start of "
               "sending to the last delivery. *other procs* is the CPU "
               "that processes other than the server and loadgen used "
               "during the run (the machine is shared), in cores; each "
               "run first waits (up to 30 s) for it to drop below 0.3.\n")
    if any(r["server"] in WS_SERVERS for r in runs):
        out.append("### WebSocket\n")
        out.append(websocket_table(runs))
        out.append("\nDeliveries per server CPU-second (higher is better), "
                   "from the rows above: chatd and nats-server over "
                   "WebSocket, next to their TCP figures from the same "
                   "script run. The goals (issue 8) are for `fanout`: "
                   "chatd-ws at least 2x nats-ws, and at least 0.8x chatd "
                   "over TCP; `crowd`'s ratios are shown without a goal. A "
                   "figure marked FAIL comes from a run that lost, "
                   "reordered or dropped something (see its row).\n")
    if any(r["server"] in TLS_SERVERS for r in runs):
        out.append("### TLS\n")
        out.append(tls_table(runs))
        out.append("\nFrom the rows above: each server on its TLS port "
                   "next to the same server without TLS in the same script "
                   "run. *deliveries per CPU-s* is `fanout`'s (higher is "
                   "better); RSS per connection is `idle`'s (peak RSS with "
                   "the connections joined minus the fresh server's, per "
                   "connection), so *TLS - without* is what a TLS session "
                   "costs the server per idle connection. A figure marked "
                   "FAIL comes from a run that lost, reordered or dropped "
                   "something (see its row).\n")
    if any(r["workload"] == "overload" for r in runs):
        out.append("### Overload\n")
        out.append(overload_table(runs, servers))
        rates = sorted({fmt_int(r["result"]["rate"]) for r in runs
                        if r["workload"] == "overload" and r.get("result")})
        out.append("\nThe crowd shape offered at "
                   f"{' / '.join(rates) or '–'} messages/s in total. "
                   "*expected* counts every message loadgen queued to a "
                   "sender's socket (it never drops one: what the socket "
                   "does not take waits in loadgen and is written later) "
                   "times the other members of its group, so *not "
                   "delivered* is whatever had not arrived when the drain "
                   "ended: lost, dropped with a client the server "
                   "disconnected (`ERROR too slow`, counted under "
                   "disconnected and server error lines), or still queued "
                   "when the drain timed out. Latency counts from the "
                   "scheduled send time, so it includes the time a message "
                   "waited behind the backlog. RSS before is the fresh "
                   "server's; peak RSS is the largest 100 ms sample over "
                   "the whole run; VmHWM is the kernel's exact high-water "
                   "mark over the server's life; RSS at end is after the "
                   "drain, before the clients disconnect. RSS does not "
                   "include the kernel's socket buffers, where input the "
                   "server has not read yet waits.\n")
    out.append("### Idle connections\n")
    out.append(idle_table(runs, servers))
    out.append("\nRSS per connection = (peak RSS with the connections "
               "joined - RSS of the fresh server before connecting) / "
               "connections joined.\n")
    if args.analysis and os.path.exists(args.analysis):
        with open(args.analysis) as f:
            out.append(f.read().rstrip() + "\n")
    out.append("### Peer notes\n")
    out.append(PEER_NOTES)
    notes = [(r["server"], r["workload"], r["note"]) for r in runs
             if r.get("note")]
    if notes:
        out.append("### Run notes\n")
        for server, workload, note in notes:
            out.append(f"- {server} / {workload}: {note}")
        out.append("")
    out.append("## Configs used\n")
    for key, fname in CONFIG_FILES:
        path = os.path.join(args.configs, fname)
        if key in servers and os.path.exists(path):
            with open(path) as f:
                text = f.read()
            out.append(f"### {key}\n")
            out.append("```")
            out.append(text.rstrip())
            out.append("```\n")
    with open(args.md, "w") as f:
        f.write("\n".join(out) + "\n")

    try:
        write_chart(runs, servers, args.png, args.workdir)
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"report.py: chart failed: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
