#!/usr/bin/env python3
"""The SPEC's bag-of-words VAE in PyTorch, trained the way a typical PyTorch user would: a
reference point for vae-dist's speed, memory and perplexity (a benchmark, not a test).

The training split (CSR) and the valid split are read with h5py into memory; each step builds a
dense [batch, V] count matrix from the CSR rows (scipy), takes log1p as the input, and runs
nn.Linear layers: encoder 128,64 with ReLU, heads mu and logvar (latent 32), decoder 64,128 with
ReLU, `out` Linear to V, log-softmax. Loss of a document: recon = -sum_w n_w log p(w|z) plus the
closed-form KL; a step's loss is the mean over the global batch; Adam (lr 1e-3); shuffled each
epoch; z = mu + exp(logvar / 2) * eps. nn.Linear's default initialization is the one vae-dist
uses (weight and bias uniform in +-1/sqrt(fan_in)).

Two forms:
  one process:  bench/pytorch_vae.py --corpus C.h5 --threads T
  DDP (gloo):   bench/pytorch_vae.py --corpus C.h5 --ddp 2 --threads 1
                (torch.multiprocessing.spawn; the global batch is split among the processes)

docs/s is measured as vae-dist's summary.jsonl does it: only the training loop is timed (not the
start-up, the loading of the corpus into memory or the final evaluation), per interval of
--log-every steps (the last interval may be shorter), and the figure is the median over the
intervals with the first one dropped. Peak RSS is each training process's ru_maxrss. The valid
figures follow SPEC's "Figures" with one draw of z per document (S = 1).
Prints one JSON line.
"""
import argparse
import json
import os
import resource
import socket
import statistics
import sys
import time


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", required=True)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=256, help="global batch, all processes together")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--latent", type=int, default=32)
    p.add_argument("--encoder-hidden", default="128,64")
    p.add_argument("--decoder-hidden", default="64,128")
    p.add_argument("--threads", type=int, default=1, help="torch threads per process")
    p.add_argument("--ddp", type=int, default=0, help="processes of DistributedDataParallel (0: one plain process)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--eval-seed", type=int, default=12345)
    p.add_argument("--label", default="", help="copied into the JSON line")
    return p.parse_args(argv)


ARGS = parse_args(sys.argv[1:]) if __name__ == "__main__" else None
if ARGS is not None:
    # torch.set_num_threads alone does not bind Debian's OpenBLAS (its own pthreads): set both
    # before torch is imported, so that T threads means T threads (children inherit this).
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402


def sizes(text):
    return [int(s) for s in text.split(",") if s.strip()]


def read_split(path, split):
    with h5py.File(path, "r") as f:
        V = int(f.attrs["vocab_size"])
        g = f[split]
        indptr, indices, counts = g["indptr"][:], g["indices"][:], g["counts"][:]
    m = sp.csr_matrix((counts.astype(np.float32), indices, indptr), shape=(len(indptr) - 1, V))
    return m, V


def linear_stack(width, sizes):
    """A module holding Linear layers "0", "1", ... of the given sizes after an input of width
    (SPEC's names), and the width it ends with."""
    stack = nn.Module()
    for i, h in enumerate(sizes):
        stack.add_module(str(i), nn.Linear(width, h))
        width = h
    return stack, width


class VAE(nn.Module):
    def __init__(self, V, enc_hidden, latent, dec_hidden):
        super().__init__()
        self.enc, prev = linear_stack(V, enc_hidden)
        self.n_enc = len(enc_hidden)
        self.enc.add_module("mu", nn.Linear(prev, latent))
        self.enc.add_module("logvar", nn.Linear(prev, latent))
        self.dec, prev = linear_stack(latent, dec_hidden)
        self.n_dec = len(dec_hidden)
        self.dec.add_module("out", nn.Linear(prev, V))

    def encode(self, counts):
        h = torch.log1p(counts)
        for i in range(self.n_enc):
            h = F.relu(getattr(self.enc, str(i))(h))
        return self.enc.mu(h), self.enc.logvar(h)

    def decode(self, z):
        h = z
        for i in range(self.n_dec):
            h = F.relu(getattr(self.dec, str(i))(h))
        return F.log_softmax(self.dec.out(h), dim=1)

    def forward(self, counts, eps):
        """Per-document recon and kl of a dense [B, V] count batch."""
        mu, logvar = self.encode(counts)
        z = mu + torch.exp(0.5 * logvar) * eps
        logp = self.decode(z)
        recon = -(counts * logp).sum(dim=1)
        kl = -0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)
        return recon, kl


def dense(m, rows):
    return torch.from_numpy(m[rows].toarray())


@torch.no_grad()
def evaluate(model, m, latent, seed):
    """SPEC's figures on a split, z drawn once per document (S = 1); empty documents skipped."""
    g = torch.Generator().manual_seed(seed)
    neg_elbo, tokens, recon_sum, kl_sum, docs = [], [], 0.0, 0.0, 0
    for lo in range(0, m.shape[0], 256):
        rows = np.arange(lo, min(lo + 256, m.shape[0]))
        x = dense(m, rows)
        eps = torch.randn(len(rows), latent, generator=g)
        recon, kl = model(x, eps)
        n = x.sum(dim=1).double()
        keep = n > 0
        recon, kl, n = recon.double()[keep], kl.double()[keep], n[keep]
        neg_elbo.append(recon + kl)
        tokens.append(n)
        recon_sum += recon.sum().item()
        kl_sum += kl.sum().item()
        docs += int(keep.sum())
    neg_elbo, tokens = torch.cat(neg_elbo), torch.cat(tokens)
    return {
        "valid_docs": docs,
        "valid_empty_docs": m.shape[0] - docs,
        "ppl_doc": float(torch.exp((neg_elbo / tokens).mean())),
        "ppl_corpus": float(torch.exp(neg_elbo.sum() / tokens.sum())),
        "valid_recon": recon_sum / docs,
        "valid_kl": kl_sum / docs,
    }


def train(args, rank, world):
    """Trains; returns this process's figures (rank 0's carry the rates and the valid figures)."""
    torch.set_num_threads(args.threads)
    t_setup = time.perf_counter()
    m, V = read_split(args.corpus, "train")
    D = m.shape[0]
    torch.manual_seed(args.seed)  # the same initial parameters on every process
    model = VAE(V, sizes(args.encoder_hidden), args.latent, sizes(args.decoder_hidden))
    net = model
    if world > 1:
        net = nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    torch.manual_seed(args.seed * 1000 + 1 + rank)  # the noise: a different stream on each process
    order_gen = torch.Generator().manual_seed(args.seed)  # the same permutation on every process
    B = args.batch_size
    steps_per_epoch = (D + B - 1) // B
    total = steps_per_epoch * args.epochs
    setup_s = time.perf_counter() - t_setup

    intervals, docs_iv, build_s, step = [], 0, 0.0, 0
    last_loss = float("nan")
    t_start = t_iv = time.perf_counter()
    for epoch in range(args.epochs):
        perm = torch.randperm(D, generator=order_gen).numpy()
        for k in range(steps_per_epoch):
            batch = perm[k * B:(k + 1) * B]
            gb = len(batch)
            # this process's share of the global batch, as even as possible
            lo, hi = rank * gb // world, (rank + 1) * gb // world
            t0 = time.perf_counter()
            x = dense(m, batch[lo:hi])
            build_s += time.perf_counter() - t0
            eps = torch.randn(hi - lo, args.latent)
            recon, kl = net(x, eps)
            # mean over the GLOBAL batch: DDP averages gradients over the processes, so scale the
            # local sum by world / global batch (exact also for an uneven last batch)
            loss = (recon + kl).sum() * (world / gb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            docs_iv += gb
            if step % args.log_every == 0 or step == total:
                last_loss = float((recon + kl).mean())  # this process's share of the batch
                now = time.perf_counter()
                intervals.append(docs_iv / (now - t_iv))
                docs_iv, t_iv = 0, now
    train_s = time.perf_counter() - t_start

    res = {"rank": rank, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}
    if rank == 0:
        model.eval()
        mv, _ = read_split(args.corpus, "valid")
        res.update(evaluate(model, mv, args.latent, args.eval_seed))
        # ru_maxrss again: the evaluation (as in vae-dist's run, which evaluates at the end) counts
        res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        res.update({
            "docs_per_s": statistics.median(intervals[1:]) if len(intervals) > 1 else intervals[0],
            "intervals": len(intervals) - 1 if len(intervals) > 1 else 1,
            "steps": step, "epochs": args.epochs, "train_docs": D, "train_wall_s": train_s,
            "setup_s": setup_s, "batch_build_share": build_s / train_s, "last_loss": last_loss,
        })
    return res


def ddp_worker(rank, world, args, port, out_dir):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    dist.init_process_group("gloo", rank=rank, world_size=world)
    res = train(args, rank, world)
    dist.barrier()
    rss = [None] * world
    dist.all_gather_object(rss, res["peak_rss_mb"])
    if rank == 0:
        res["peak_rss_mb_per_process"] = rss
        with open(os.path.join(out_dir, "result.json"), "w") as f:
            json.dump(res, f)
    dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    args = ARGS
    common = {"label": args.label, "torch": torch.__version__, "threads_per_process": args.threads,
              "batch_size": args.batch_size, "lr": args.lr}
    if args.ddp > 1:
        import tempfile
        with tempfile.TemporaryDirectory(prefix="pytorch-vae-") as d:
            mp.spawn(ddp_worker, args=(args.ddp, args, free_port(), d), nprocs=args.ddp, join=True)
            with open(os.path.join(d, "result.json")) as f:
                res = json.load(f)
        res.update(form=f"ddp-gloo-{args.ddp}x{args.threads}", processes=args.ddp, **common)
    else:
        res = train(args, 0, 1)
        res["peak_rss_mb_per_process"] = [res["peak_rss_mb"]]
        res.update(form=f"single-T{args.threads}", processes=1, **common)
    res.pop("rank", None)
    res.pop("peak_rss_mb", None)
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
