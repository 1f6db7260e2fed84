"""Compares the parameters of two vae-dist checkpoints (tests only).

usage: ckpt_compare.py A.h5 B.h5 exact|RTOL [optimizer]
exact: every /params tensor bitwise equal; RTOL: for every tensor, ||a - b|| <= RTOL * ||a||.
With "optimizer", Adam's moments (/optimizer/m, /optimizer/v) are compared the same way.
The running statistics (/state, for a family with any) are always compared with the parameters.
Also checks both files name the same tensors with the same shapes. Exit 0 when they agree."""
import sys

import h5py
import numpy as np


def main():
    a_path, b_path, mode = sys.argv[1:4]
    groups = ["params"] + (["optimizer/m", "optimizer/v"] if sys.argv[4:5] == ["optimizer"] else [])
    worst, count = 0.0, 0
    with h5py.File(a_path, "r") as a, h5py.File(b_path, "r") as b:
        if "state" in a or "state" in b:
            groups.append("state")
        for group in groups:
            names = sorted(a[group].keys())
            if names != sorted(b[group].keys()):
                sys.exit(f"{group}: tensor names differ: {names} vs {sorted(b[group].keys())}")
            for name in names:
                x = a[group][name][()].astype(np.float64)
                y = b[group][name][()].astype(np.float64)
                count += 1
                if x.shape != y.shape:
                    sys.exit(f"{group}/{name}: shapes {x.shape} vs {y.shape}")
                if mode == "exact":
                    if not np.array_equal(x, y):
                        sys.exit(f"{group}/{name}: not bitwise equal (max diff {np.abs(x - y).max():.3g})")
                    continue
                rel = np.linalg.norm(x - y) / max(np.linalg.norm(x), 1e-30)
                worst = max(worst, rel)
                if not rel <= float(mode):
                    sys.exit(f"{group}/{name}: relative difference {rel:.3g} > {mode}")
    print(f"agree: {count} tensors, worst relative difference {worst:.3g}")


main()
