#!/usr/bin/env python3
"""The SPEC's sentence VAE (docs/SPEC.md "Model families", `sentence`) in PyTorch: a reference for
vae-dist's numbers and a point of comparison for its speed (a benchmark, not a test), written as a
PyTorch user would write it efficiently: both GRUs and the output layer on packed sequences, so
that no padding is computed.

The module has SPEC's parameter names: `emb` (nn.Embedding [V+2, E]), `enc.gru` and `dec.gru`
(nn.GRU, one layer, batch_first; SPEC names their tensors weight_ih, weight_hh, bias_ih, bias_hh
where PyTorch says weight_ih_l0 ..., which a load hook maps), `enc.mu`, `enc.logvar`, `dec.init`,
`dec.out` (nn.Linear). So `model.load_state_dict({name: torch.from_numpy(ds[()]) for name, ds in
checkpoint["params"].items()})` loads a vae-dist checkpoint as it stands.

Token ids: words 0..V-1, <unk> = V, <s> / </s> = V+1. The encoder's GRU reads a sequence's tokens
(h0 = 0) and its last state gives mu and logvar; the decoder starts from h0 = tanh(dec.init(z)) and
reads [emb(y_{t-1}); z], y_0 = <s>, predicting the tokens and then </s>.

Modes:
  check CKPT CORPUS [--split valid] [--vae-infer build/vae-infer]
      recon at z = mu over the split's sequences (double precision), against `vae-infer eval`'s
      recon_mean of the same checkpoint: exit 1 unless they agree within 1e-4 relative.
  train CORPUS [--epochs E] [--batch-size B] [--embedding E] [--hidden H] [--latent L] ...
      the same model trained with Adam on the train split (packed sequences, shuffled each
      epoch), then the test split's figures (z drawn once per sequence): prints one JSON line with
      test nll, ppl, recon, kl and the training rate in sequences/s (the training loop alone timed,
      median of the intervals of --log-every steps, the first dropped).
  [step] [--vocab V] [--batch B] [--length T] [--threads N] [--reps R]
      the step's speed beside `build/vae-bench-step --model sentence`, on the same kind of batch:
      the family's defaults (E = H = 256, latent 16), --batch sequences of lengths uniform in
      [T/2, 3T/2], tokens uniform over the V words, as vae-bench-step draws them; the median over
      --reps steps (after 2 warm-up steps) of forward + backward + Adam, and sequences/s, as one
      line. The mode taken when the first argument is an option.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time


MODES = ("check", "sgd", "train", "step")


def parse_args(argv):
    if not argv or argv[0] not in MODES + ("-h", "--help"):
        argv = ["step"] + list(argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("check", help="recon at z = mu against vae-infer eval's recon_mean")
    c.add_argument("checkpoint")
    c.add_argument("corpus")
    c.add_argument("--split", default="valid")
    c.add_argument("--vae-infer", default="build/vae-infer")
    c.add_argument("--rel", type=float, default=1e-4)
    c.add_argument("--threads", type=int, default=1)
    g = sub.add_parser("sgd", help="one SGD step against vae-dist's, from the same weights and batch")
    g.add_argument("before")
    g.add_argument("after")
    g.add_argument("corpus")
    g.add_argument("--batch-size", type=int, default=64)
    g.add_argument("--lr", type=float, default=0.1)
    g.add_argument("--beta", type=float, default=1.0)
    g.add_argument("--rel", type=float, default=1e-3)
    g.add_argument("--threads", type=int, default=1)
    t = sub.add_parser("train", help="train the same model in PyTorch")
    t.add_argument("corpus")
    t.add_argument("--epochs", type=int, default=1)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--embedding", type=int, default=256)
    t.add_argument("--hidden", type=int, default=256)
    t.add_argument("--latent", type=int, default=16)
    t.add_argument("--word-dropout", type=float, default=0.0)
    t.add_argument("--kl-warmup-steps", type=int, default=0)
    t.add_argument("--max-steps", type=int, default=0, help="0: the epochs' steps")
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--log-every", type=int, default=10)
    t.add_argument("--label", default="")
    t.add_argument("--autocast", action="store_true",
                   help="forward under torch.autocast('cpu', dtype=torch.bfloat16): PyTorch's bf16 form")
    s = sub.add_parser("step", help="the speed of a step on a synthetic batch (vae-bench-step's)")
    s.add_argument("--vocab", type=int, default=10000)
    s.add_argument("--batch", type=int, default=64)
    s.add_argument("--length", type=int, default=20)
    s.add_argument("--threads", type=int, default=2)
    s.add_argument("--reps", type=int, default=10)
    s.add_argument("--autocast", action="store_true", help="as train's --autocast")
    return p.parse_args(argv)


ARGS = parse_args(sys.argv[1:]) if __name__ == "__main__" else None
if ARGS is not None:
    # Before torch is imported, so that T threads means T threads (Debian's OpenBLAS has its own).
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence  # noqa: E402

GRU_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


class SpecGRU(nn.GRU):
    """nn.GRU (one layer, batch_first) whose state dict reads SPEC's names as well as PyTorch's."""

    def __init__(self, input_size, hidden_size):
        super().__init__(input_size, hidden_size, num_layers=1, batch_first=True)
        self._register_load_state_dict_pre_hook(self._spec_names)

    @staticmethod
    def _spec_names(state_dict, prefix, *unused):
        for n in GRU_NAMES:
            if prefix + n in state_dict:
                state_dict[prefix + n + "_l0"] = state_dict.pop(prefix + n)


class SentenceVAE(nn.Module):
    def __init__(self, V, E, H, latent):
        super().__init__()
        self.V = V
        self.emb = nn.Embedding(V + 2, E)
        self.enc = nn.Module()
        self.enc.add_module("gru", SpecGRU(E, H))
        self.enc.add_module("mu", nn.Linear(H, latent))
        self.enc.add_module("logvar", nn.Linear(H, latent))
        self.dec = nn.Module()
        self.dec.add_module("init", nn.Linear(latent, H))
        self.dec.add_module("gru", SpecGRU(E + latent, H))
        self.dec.add_module("out", nn.Linear(H, V + 2))

    def encode(self, tokens, lengths):
        """mu, logvar [B, latent] of a padded batch [B, T] of sequences of the given lengths."""
        packed = pack_padded_sequence(self.emb(tokens), lengths, batch_first=True, enforce_sorted=False)
        _, h = self.enc.gru(packed)
        return self.enc.mu(h[0]), self.enc.logvar(h[0])

    def recon(self, tokens, lengths, z, inputs=None):
        """-sum_t log p(y_t | y_<t, z) of each sequence over its tokens and </s>. inputs: the
        decoder's input tokens (word dropout's), by default <s> and the sequence's tokens."""
        B, T = tokens.shape
        end = self.V + 1
        if inputs is None:
            inputs = torch.cat([torch.full((B, 1), end, dtype=tokens.dtype), tokens], dim=1)
        targets = torch.cat([tokens, torch.zeros((B, 1), dtype=tokens.dtype)], dim=1)
        targets[torch.arange(B), lengths] = end  # </s> right after each sequence's last token
        x = torch.cat([self.emb(inputs), z.unsqueeze(1).expand(B, T + 1, z.shape[1])], dim=2)
        h0 = torch.tanh(self.dec.init(z)).unsqueeze(0)
        packed = pack_padded_sequence(x, lengths + 1, batch_first=True, enforce_sorted=False)
        out, _ = self.dec.gru(packed, h0)
        # The output layer and the loss on the packed states alone, then summed per sequence.
        packed_targets = pack_padded_sequence(targets, lengths + 1, batch_first=True, enforce_sorted=False)
        loss = F.cross_entropy(self.dec.out(out.data), packed_targets.data, reduction="none")
        per_token, _ = pad_packed_sequence(PackedSequence(loss, out.batch_sizes, out.sorted_indices,
                                                          out.unsorted_indices), batch_first=True)
        return per_token.sum(dim=1)


def kl_of(mu, logvar):
    return -0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)


def read_seqs(path, split):
    with h5py.File(path, "r") as f:
        V = int(f.attrs["vocab_size"])
        g = f[split]["seq"]
        return g["indptr"][:], g["tokens"][:].astype(np.int64), V


def batch_of(indptr, tokens, rows):
    """A padded [B, T] batch of the sequences rows, with their lengths."""
    lengths = np.array([indptr[r + 1] - indptr[r] for r in rows], dtype=np.int64)
    out = np.zeros((len(rows), int(lengths.max())), dtype=np.int64)
    for i, r in enumerate(rows):
        out[i, :lengths[i]] = tokens[indptr[r]:indptr[r + 1]]
    return torch.from_numpy(out), torch.from_numpy(lengths)


def checkpoint_file(path):
    """The file a checkpoint path stands for, as vae-infer reads it: a run folder or its
    checkpoints/ folder is the checkpoint that checkpoints/latest names, a pointer file the one it
    names."""
    if os.path.isdir(os.path.join(path, "checkpoints")):
        path = os.path.join(path, "checkpoints")
    if os.path.isdir(path):
        path = os.path.join(path, "latest")
    if os.path.basename(path) in ("latest", "best"):
        with open(path) as f:
            path = os.path.join(os.path.dirname(path), f.read().strip())
    return path


def load_checkpoint(path):
    with h5py.File(checkpoint_file(path), "r") as f:
        params = {name: torch.from_numpy(ds[()]) for name, ds in f["params"].items()}
    V2, E = params["emb.weight"].shape
    H = params["enc.gru.weight_hh"].shape[1]
    latent = params["enc.mu.weight"].shape[0]
    model = SentenceVAE(V2 - 2, E, H, latent)
    model.load_state_dict(params)
    return model


@torch.no_grad()
def check(args):
    model = load_checkpoint(args.checkpoint).double().eval()
    indptr, tokens, V = read_seqs(args.corpus, args.split)
    assert V == model.V, f"corpus has {V} words, the checkpoint {model.V}"
    S = len(indptr) - 1
    total = 0.0
    for lo in range(0, S, 256):
        x, n = batch_of(indptr, tokens, range(lo, min(lo + 256, S)))
        mu, _ = model.encode(x, n)
        total += model.recon(x, n, mu).sum().item()
    ours = total / S
    run = subprocess.run([args.vae_infer, "eval", "--checkpoint", args.checkpoint, "--corpus", args.corpus,
                          "--split", args.split], capture_output=True, text=True)
    if run.returncode != 0:
        print(f"pytorch_sentence: vae-infer eval failed: {run.stderr.strip()}", file=sys.stderr)
        return 1
    theirs = json.loads(run.stdout)["recon_mean"]
    rel = abs(ours - theirs) / abs(theirs)
    print(json.dumps({"split": args.split, "sequences": S, "recon_mean_pytorch": ours,
                      "recon_mean_vae_infer": theirs, "relative_difference": rel, "tolerance": args.rel}))
    if not rel <= args.rel:
        print(f"pytorch_sentence: recon_mean differs by {rel:.3g} relative (tolerance {args.rel})", file=sys.stderr)
        return 1
    return 0


def sgd(args):
    """vae-dist --init-from BEFORE --optimizer sgd --max-steps 1 --no-shuffle --latent-samples 0
    (z = mu) --kl-cycles 0 --free-bits 0 took one step on the first --batch-size training sequences
    and wrote AFTER: the same step here, in double precision, and each tensor's update compared."""
    model = load_checkpoint(args.before).double()
    indptr, tokens, _ = read_seqs(args.corpus, "train")
    x, n = batch_of(indptr, tokens, range(min(args.batch_size, len(indptr) - 1)))
    mu, logvar = model.encode(x, n)
    loss = (model.recon(x, n, mu) + args.beta * kl_of(mu, logvar)).mean()
    model.zero_grad()
    loss.backward()
    with h5py.File(checkpoint_file(args.after), "r") as f:
        after = {name: torch.from_numpy(ds[()]).double() for name, ds in f["params"].items()}
    worst, name_worst = 0.0, ""
    for name, p in model.named_parameters():
        key = name.replace("_l0", "")
        ours = -args.lr * p.grad
        theirs = after[key] - p.detach()
        rel = ((ours - theirs).norm() / ours.norm().clamp_min(1e-30)).item()
        if rel > worst:
            worst, name_worst = rel, key
    print(json.dumps({"sequences": int(x.shape[0]), "loss": loss.item(), "worst_relative_update_difference": worst,
                      "tensor": name_worst, "tolerance": args.rel}))
    if not worst <= args.rel:
        print(f"pytorch_sentence: the SGD update of {name_worst} differs by {worst:.3g} relative", file=sys.stderr)
        return 1
    return 0


@torch.no_grad()
def evaluate(model, indptr, tokens, latent, seed):
    """SPEC's figures of a split, z drawn once per sequence."""
    g = torch.Generator().manual_seed(seed)
    S = len(indptr) - 1
    recon = kl = count = 0.0
    for lo in range(0, S, 256):
        x, n = batch_of(indptr, tokens, range(lo, min(lo + 256, S)))
        mu, logvar = model.encode(x, n)
        z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=g)
        recon += model.recon(x, n, z).sum().item()
        kl += kl_of(mu, logvar).sum().item()
        count += float((n + 1).sum())
    return {"test_sequences": S, "test_tokens": count, "test_nll": (recon + kl) / S,
            "test_ppl": float(np.exp((recon + kl) / count)), "test_recon": recon / S, "test_kl": kl / S}


def train(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    indptr, tokens, V = read_seqs(args.corpus, "train")
    S = len(indptr) - 1
    model = SentenceVAE(V, args.embedding, args.hidden, args.latent)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    order = torch.Generator().manual_seed(args.seed)
    B = args.batch_size
    per_epoch = (S + B - 1) // B
    total = args.max_steps or per_epoch * args.epochs
    step, seqs_iv, intervals, last_loss = 0, 0, [], float("nan")
    t0 = t_iv = time.perf_counter()
    while step < total:
        perm = torch.randperm(S, generator=order).numpy()
        for k in range(per_epoch):
            if step == total:
                break
            x, n = batch_of(indptr, tokens, perm[k * B:(k + 1) * B])
            inputs = torch.cat([torch.full((len(n), 1), V + 1, dtype=x.dtype), x], dim=1)
            if args.word_dropout > 0:
                drop = torch.rand(inputs.shape) < args.word_dropout
                drop[:, 0] = False
                inputs = torch.where(drop, torch.full_like(inputs, V), inputs)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.autocast):
                mu, logvar = model.encode(x, n)
                z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape)
                beta = min(1.0, step / args.kl_warmup_steps) if args.kl_warmup_steps > 0 else 1.0
                loss = (model.recon(x, n, z, inputs) + beta * kl_of(mu, logvar)).float().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            seqs_iv += len(n)
            if step % args.log_every == 0 or step == total:
                last_loss = float(loss)
                now = time.perf_counter()
                intervals.append(seqs_iv / (now - t_iv))
                seqs_iv, t_iv = 0, now
    train_s = time.perf_counter() - t0
    model.eval()
    ti, tt, _ = read_seqs(args.corpus, "test")
    res = {"label": args.label, "torch": torch.__version__, "threads": args.threads, "autocast": args.autocast,
           "steps": step,
           "train_sequences": S, "train_wall_s": train_s, "last_loss": last_loss,
           "seqs_per_s": statistics.median(intervals[1:]) if len(intervals) > 1 else intervals[0]}
    res.update(evaluate(model, ti, tt, args.latent, args.seed + 12345))
    print(json.dumps(res), flush=True)
    return 0


def step(args):
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(2)
    lengths = torch.randint(args.length // 2, args.length + args.length // 2 + 1, (args.batch,),
                            generator=g).clamp(min=1)
    x = torch.zeros((args.batch, int(lengths.max())), dtype=torch.long)
    for i, n in enumerate(lengths.tolist()):
        x[i, :n] = torch.randint(0, args.vocab, (n,), generator=g)
    model = SentenceVAE(args.vocab, 256, 256, 32)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = []
    for r in range(args.reps + 2):
        t0 = time.perf_counter()
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.autocast):
            mu, logvar = model.encode(x, lengths)
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            loss = (model.recon(x, lengths, z) + kl_of(mu, logvar)).float().sum() / args.batch
        loss.backward()
        opt.step()
        if r >= 2:
            times.append(time.perf_counter() - t0)
    t = statistics.median(times)
    print(f"pytorch {torch.__version__} sentence V={args.vocab} batch={args.batch} tokens={int(lengths.sum())} "
          f"threads={args.threads}{' autocast bf16' if args.autocast else ''}: step {1e3 * t:.1f} ms, "
          f"seqs/s {args.batch / t:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit({"check": check, "sgd": sgd, "train": train, "step": step}[ARGS.mode](ARGS))
