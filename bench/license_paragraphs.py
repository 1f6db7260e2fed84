"""The texts of /usr/share/common-licenses as one paragraph a line (a document), each license file
once (several names are links to one): the sentence benchmarks' small real corpus.
usage: /usr/bin/python3 bench/license_paragraphs.py OUT.txt"""
import os
import re
import sys

seen, out = set(), open(sys.argv[1], "w")
folder = "/usr/share/common-licenses"
for name in sorted(os.listdir(folder)):
    path = os.path.realpath(os.path.join(folder, name))
    if path in seen or not os.path.isfile(path):
        continue
    seen.add(path)
    for para in re.split(r"\n\s*\n", open(path, errors="replace").read()):
        if para.split():
            out.write(" ".join(para.split()) + "\n")
