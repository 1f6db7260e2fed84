"""Compares the parameters of two vae-dist checkpoints (tests only).

usage: ckpt_compare.py A.h5 B.h5 exact|RTOL
exact: every /params tensor bitwise equal; RTOL: for every tensor, ||a - b|| <= RTOL * ||a||.
Also checks both files name the same tensors with the same shapes. Exit 0 when they agree."""
import sys

import h5py
import numpy as np


def main():
    a_path, b_path, mode = sys.argv[1:4]
    with h5py.File(a_path, "r") as a, h5py.File(b_path, "r") as b:
        names = sorted(a["params"].keys())
        if names != sorted(b["params"].keys()):
            sys.exit(f"tensor names differ: {names} vs {sorted(b['params'].keys())}")
        worst = 0.0
        for name in names:
            x = a["params"][name][()].astype(np.float64)
            y = b["params"][name][()].astype(np.float64)
            if x.shape != y.shape:
                sys.exit(f"{name}: shapes {x.shape} vs {y.shape}")
            if mode == "exact":
                if not np.array_equal(x, y):
                    sys.exit(f"{name}: not bitwise equal (max diff {np.abs(x - y).max():.3g})")
                continue
            rel = np.linalg.norm(x - y) / max(np.linalg.norm(x), 1e-30)
            worst = max(worst, rel)
            if not rel <= float(mode):
                sys.exit(f"{name}: relative difference {rel:.3g} > {mode}")
        print(f"agree: {len(names)} tensors, worst relative difference {worst:.3g}")


main()
