"""gensim's LdaMulticore on a vae-corpus file (bench/compare_lda.sh; a benchmark, not a test).

usage: lda_gensim.py CORPUS.h5 K OUT.json [--workers W] [--passes P] [--chunksize C] [--seed S]
Trains on the train split's bags of words, exactly the rows vae-dist reads, with gensim's
documented settings for a good model (several passes, chunks of 2000 documents, one worker a
core), and writes {"topics": [[word, ...] x 25 ...], "train_s", "perplexity", "perplexity_distinct"}:
the held-out perplexity is exp(-bound), gensim's per-word variational bound on the test split,
and perplexity_distinct the same with each document's distinct words counted once (the figure
vae-dist's topic family reports under its default --word-counts presence)."""
import argparse
import json
import math
import time

import h5py
from gensim.models import LdaMulticore


def bags(f, split):
    indptr, indices, counts = f[f"{split}/indptr"][()], f[f"{split}/indices"][()], f[f"{split}/counts"][()]
    return [list(zip(indices[a:b].tolist(), counts[a:b].tolist())) for a, b in zip(indptr[:-1], indptr[1:])]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("corpus")
    p.add_argument("k", type=int)
    p.add_argument("out")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--passes", type=int, default=10)
    p.add_argument("--chunksize", type=int, default=2000)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    with h5py.File(a.corpus, "r") as f:
        words = f["vocab/words"].asstr()[()].tolist()
        train, test = bags(f, "train"), bags(f, "test")
    id2word = dict(enumerate(words))
    t0 = time.time()
    lda = LdaMulticore(train, num_topics=a.k, id2word=id2word, workers=a.workers, passes=a.passes,
                       chunksize=a.chunksize, random_state=a.seed, eval_every=None)
    train_s = time.time() - t0
    bound = lda.log_perplexity([d for d in test if d])
    distinct = lda.log_perplexity([[(w, 1) for w, _ in d] for d in test if d])
    topics = [[words[w] for w, _ in lda.get_topic_terms(t, topn=25)] for t in range(a.k)]
    # The bound is in nats (gensim's own log line takes 2^-bound, which understates it).
    json.dump({"topics": topics, "train_s": train_s, "perplexity": math.exp(-bound),
               "perplexity_distinct": math.exp(-distinct)}, open(a.out, "w"))


main()
