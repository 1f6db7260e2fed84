#!/usr/bin/env python3
"""The SPEC's sentence VAE in PyTorch (a benchmark, not a test): the step's speed beside
`build/vae-bench-step --model sentence`, on the same kind of batch.

The model is SPEC's "sentence" with its defaults (E = H = 256, latent 32): nn.Embedding(V + 2, E),
an encoder nn.GRU over the tokens, heads enc.mu / enc.logvar, h0 = tanh(dec.init(z)), a decoder
nn.GRU over [emb(y_{t-1}); z] from <s>, dec.out to V + 2, the loss summed over the T + 1 targets
plus the KL, the mean over the batch; Adam (lr 1e-3). Written as a PyTorch user would write it
efficiently: both GRUs on packed sequences (pack_padded_sequence), the output layer and the
cross-entropy on the packed states only (no padding). The batch: --batch sequences of lengths
uniform in [T/2, 3T/2] (T = --length), tokens uniform over the V words, as vae-bench-step draws
them. Prints the median over --reps steps (after 2 warm-up steps) of forward + backward + Adam,
and sequences/s, as one line.
usage: /usr/bin/python3 bench/pytorch_sentence.py [--vocab V] [--batch B] [--length T] [--threads N] [--reps R]
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence


class SentenceVAE(nn.Module):
    def __init__(self, V, E=256, H=256, L=32):
        super().__init__()
        self.V = V
        self.emb = nn.Embedding(V + 2, E)
        self.enc_gru = nn.GRU(E, H, batch_first=True)
        self.enc_mu, self.enc_logvar = nn.Linear(H, L), nn.Linear(H, L)
        self.dec_init = nn.Linear(L, H)
        self.dec_gru = nn.GRU(E + L, H, batch_first=True)
        self.dec_out = nn.Linear(H, V + 2)

    def forward(self, seqs):
        lengths = torch.tensor([len(s) for s in seqs])
        tokens = pad_sequence(seqs, batch_first=True)
        _, h = self.enc_gru(pack_padded_sequence(self.emb(tokens), lengths, batch_first=True, enforce_sorted=False))
        mu, logvar = self.enc_mu(h[0]), self.enc_logvar(h[0])
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        start = torch.full((len(seqs), 1), self.V + 1, dtype=torch.long)
        inputs = torch.cat([start, tokens], 1)
        targets = pad_sequence([torch.cat([s, torch.tensor([self.V + 1])]) for s in seqs], batch_first=True)
        x = torch.cat([self.emb(inputs), z.unsqueeze(1).expand(-1, inputs.shape[1], -1)], 2)
        h0 = torch.tanh(self.dec_init(z)).unsqueeze(0)
        packed = pack_padded_sequence(x, lengths + 1, batch_first=True, enforce_sorted=False)
        out, _ = self.dec_gru(packed, h0)
        packed_targets = pack_padded_sequence(targets, lengths + 1, batch_first=True, enforce_sorted=False)
        recon = nn.functional.cross_entropy(self.dec_out(out.data), packed_targets.data, reduction="sum")
        kl = -0.5 * torch.sum(1 + logvar - mu * mu - logvar.exp())
        return (recon + kl) / len(seqs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--length", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=10)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    g = torch.Generator().manual_seed(2)
    lengths = torch.randint(a.length // 2, a.length + a.length // 2 + 1, (a.batch,), generator=g).clamp(min=1)
    seqs = [torch.randint(0, a.vocab, (int(n),), generator=g) for n in lengths]
    model = SentenceVAE(a.vocab)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = []
    for r in range(a.reps + 2):
        t0 = time.perf_counter()
        opt.zero_grad()
        model(seqs).backward()
        opt.step()
        if r >= 2:
            times.append(time.perf_counter() - t0)
    step = statistics.median(times)
    print(f"pytorch {torch.__version__} sentence V={a.vocab} batch={a.batch} tokens={int(lengths.sum())} "
          f"threads={a.threads}: step {1e3 * step:.1f} ms, seqs/s {a.batch / step:.0f}")


if __name__ == "__main__":
    main()
