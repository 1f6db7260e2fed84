#!/usr/bin/env python3
"""The cost model of docs/SCALING.md (arithmetic, not a measurement): one training step of the
default model at V = 10000 from figures measured on the 2-core machine, extrapolated to R ranks on
a network. Prints the strong-scaling table (global batch 256) and the weak-scaling efficiencies
(256 documents per rank) for the plain mode (one allreduce), the sharded mode's flat exchange and
its hierarchical one. Change the inputs with the flags to price another machine or network.
usage: tools/scaling_model.py [--t-step-ms 21.3] [--update-ms 1.4] [--params 2.59e6] [--bw-gbs 12.5]
                              [--lat-us 2] [--ranks-per-node 8] [--node-sum-ms 0.40]"""
import argparse
import math

PIECE = 256 * 1024  # bytes per message of comm.c's ring


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--t-step-ms", type=float, default=21.3, help="forward + backward of 256 documents, 1 core")
    p.add_argument("--update-ms", type=float, default=1.4, help="Adam over all parameters, 1 core")
    p.add_argument("--params", type=float, default=2.59e6)
    p.add_argument("--bw-gbs", type=float, default=12.5, help="network bandwidth, GB/s")
    p.add_argument("--lat-us", type=float, default=2.0, help="network latency, microseconds")
    p.add_argument("--ranks-per-node", type=int, default=8)
    p.add_argument("--node-sum-ms", type=float, default=0.40, help="the node-shared sum of a rank's block")
    p.add_argument("--measured-2", default="1.17,1.34", help="2-rank communication ms measured: plain,flat")
    a = p.parse_args()
    tdoc, upd, nbytes = a.t_step_ms * 1e-3, a.update_ms * 1e-3, 4 * a.params
    bw, lat, L, t_node = a.bw_gbs * 1e9, a.lat_us * 1e-6, a.ranks_per_node, a.node_sum_ms * 1e-3

    def ring_rs(R, block_bytes, link_bw):
        return (R - 1) * (block_bytes / link_bw + math.ceil(block_bytes / PIECE) * lat)

    def comm(R):
        plain = 2 * (R - 1) / R * nbytes / bw + 2 * math.log2(R) * lat
        flat = ring_rs(R, nbytes / R, bw) + (R - 1) / R * nbytes / bw + 2 * math.log2(R) * lat
        N = max(R // L, 1)
        hier = t_node
        if N > 1:  # the L counterpart rings of a node share its network card
            node_block = nbytes / L
            hier += ring_rs(N, node_block / N, bw / L) + (N - 1) / N * node_block / (bw / L) + 2 * math.log2(N) * lat
        return plain, flat, hier

    one = tdoc + upd
    print(f"strong scaling, global batch 256 (ms per step; plain / sharded flat / sharded hierarchical, "
          f"{L} ranks per node)")
    print("| ranks R | forward/backward per rank | update | communication | step | docs/s | efficiency |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for R in (2, 8, 16, 64, 256, 1024):
        plain, flat, hier = comm(R)
        if R == 2:
            plain, flat = (float(x) * 1e-3 for x in a.measured_2.split(","))
        comp = tdoc / R
        steps = (comp + upd + plain, comp + upd / R + flat, comp + upd / R + hier)
        print(f"| {R} | {comp * 1e3:.2f} | {upd * 1e3:.2f} / {upd / R * 1e3:.2f} | "
              f"{plain * 1e3:.2f} / {flat * 1e3:.2f} / {hier * 1e3:.2f} | "
              + " / ".join(f"{s * 1e3:.1f}" for s in steps) + " | "
              + " / ".join(f"{256 / s:.0f}" for s in steps) + " | "
              + " / ".join(f"{one / (R * s):.2f}" for s in steps) + " |")
    print("weak scaling, 256 documents per rank: efficiency plain / sharded flat / sharded hierarchical")
    for R in (2, 8, 64, 1024):
        plain, flat, hier = comm(R)
        print(f"R = {R}: " + " / ".join(f"{one / (tdoc + u + c):.2f}"
                                         for u, c in ((upd, plain), (upd / R, flat), (upd / R, hier))))


if __name__ == "__main__":
    main()
