"""Plots a training run's curves from its summary.jsonl: train loss per document (an exponential
moving average drawn over the raw values, which are faint behind it: a train line is one step's
batch, so the raw values are noisy) and valid perplexity (ppl_doc and ppl_corpus) against the step.
Uses Debian's python3-matplotlib.

usage: /usr/bin/python3 tools/plot_summary.py RUN_DIR/summary.jsonl OUT.png"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def ema(values, span):
    """Exponential moving average with the weight 2 / (span + 1) of pandas' ewm(span, adjust=False)."""
    alpha, out = 2.0 / (span + 1.0), []
    for v in values:
        out.append(v if not out else alpha * v + (1.0 - alpha) * out[-1])
    return out


def main():
    src, out = sys.argv[1], sys.argv[2]
    rows = [json.loads(line) for line in open(src, encoding="utf-8") if line.strip()]
    train = [r for r in rows if r["kind"] == "train"]
    evals = [r for r in rows if r["kind"] == "eval"]
    if not train:
        sys.exit(f"plot_summary: {src} has no train lines")
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    steps = [r["step"] for r in train]
    span = max(5, len(train) // 25)  # about 4% of the run, so the curve keeps its shape
    for key, label, color in (("loss", "loss (recon + beta kl)", "C0"), ("recon", "recon", "C1")):
        raw = [r[key] for r in train]
        ax1.plot(steps, raw, color=color, alpha=0.25, linewidth=0.8)
        ax1.plot(steps, ema(raw, span), color=color, label=f"{label}, EMA over {span} lines")
    ax1.set_xlabel("step")
    ax1.set_ylabel("per document (nats)")
    ax1.set_title("training")
    ax1.legend()
    if evals:
        ax2.plot([r["step"] for r in evals], [r["ppl_doc"] for r in evals], "o-", label="ppl_doc")
        ax2.plot([r["step"] for r in evals], [r["ppl_corpus"] for r in evals], "s-", label="ppl_corpus")
        ax2.legend()
    ax2.set_xlabel("step")
    ax2.set_ylabel("perplexity")
    ax2.set_title("validation")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"plot_summary: wrote {out}")


main()
