"""Exits 0 when HDF5 files hold the same objects as the first: the same groups and datasets under the same
names, each dataset with the same type, shape and values, and every object with the same
attributes (names, types and values). Else prints the first difference and exits 1.
Usage: h5_identical.py A.h5 B.h5 [C.h5...] (each compared with A.h5)"""
import sys

import h5py
import numpy as np


def same_value(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)


def objects(f):
    names = []
    f.visit(names.append)
    return [""] + sorted(names)


def main(a_path, b_path):
    with h5py.File(a_path, "r") as a, h5py.File(b_path, "r") as b:
        names_a, names_b = objects(a), objects(b)
        if names_a != names_b:
            return f"objects differ: {sorted(set(names_a) ^ set(names_b))[:10]}"
        for name in names_a:
            oa, ob = (a[name], b[name]) if name else (a, b)
            if type(oa) is not type(ob):
                return f"/{name}: a {type(oa).__name__} against a {type(ob).__name__}"
            if isinstance(oa, h5py.Dataset):
                if oa.dtype != ob.dtype or oa.shape != ob.shape:
                    return f"/{name}: {oa.dtype}{oa.shape} against {ob.dtype}{ob.shape}"
                if not same_value(oa[()], ob[()]):
                    return f"/{name}: the values differ"
            if sorted(oa.attrs) != sorted(ob.attrs):
                return f"/{name}: attributes {sorted(oa.attrs)} against {sorted(ob.attrs)}"
            for key in oa.attrs:
                if not same_value(oa.attrs[key], ob.attrs[key]):
                    return f"/{name} attribute {key}: {oa.attrs[key]!r} against {ob.attrs[key]!r}"
    return None


if __name__ == "__main__":
    for other in sys.argv[2:]:
        why = main(sys.argv[1], other)
        if why:
            print(f"{sys.argv[1]} and {other} differ: {why}", file=sys.stderr)
            sys.exit(1)
