"""Writes the hostile model specs of test/Hostile/ (stdlib only).

    gen_hostile_yaml.py KIND OUT.yaml

KIND: not-chain (20,000 chained `not` in an expression), block-chain (3,000
distinct blocks, each calling the next), nested (500 nested flow sequences),
laughs (9 levels of 9 aliases: 9^9 nodes if expanded, 492 bytes of text).
"""
import sys

kind, out = sys.argv[1], sys.argv[2]
head = "model: m\ninput: {shape: [1, 4]}\n"
if kind == "not-chain":
    text = head + 'layers: [{op: relu, if: "${' + "not " * 20000 + 'true}"}]\n'
elif kind == "block-chain":
    n = 3000
    lines = [head + "blocks:"]
    for i in range(n):
        body = f"[{{block: b{i + 1}}}]" if i + 1 < n else "[{op: relu}]"
        lines.append(f"  b{i}:\n    layers: {body}")
    text = "\n".join(lines) + "\nlayers: [{block: b0}]\n"
elif kind == "nested":
    text = head + "layers: " + "[" * 500 + "]" * 500 + "\n"
elif kind == "laughs":
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    text = "\n".join(lines) + "\n" + head + "layers: [{op: relu}]\n"
else:
    sys.exit(f"unknown kind {kind!r}")
with open(out, "w") as f:
    f.write(text)
