#!/usr/bin/env python3
"""Runs one ONNX case of test/e2e/onnx/golden/ (a lit test helper).

    run_onnx_case.py CASE --compiler PATH/kiln --work DIR [--cuda fp32] [--round-trip]
                     [--report]

1. copies the case's model.onnx into DIR and, for an external-data case, regenerates its
   `weights.bin` there from the committed manifest (tools/seeded_weights.py's generator:
   the tensors case.json lists, float32 little-endian, back to back, which is where
   model.onnx's external data entries point);
2. compiles model.onnx for the CPU (its initializers are the weights, embedded) and runs the
   executable on the committed input; runs `kiln run` on it too; checks both against
   PyTorch's output (relative L2 <= 1e-5);
With --cuda fp32 it compiles with `--target cuda-emulated` instead and checks the SIMT
emulator's output against PyTorch.
With --round-trip it also writes the model as YAML with `kiln import`, compiles that with the
written weights, and checks that its output equals the direct compile's (bit for bit).
With --report it also checks that `kiln report`'s totals equal torchsummaryX's (case.json).
Prints one line per check; exits 1 on the first failure.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
TOOLS = os.path.join(ROOT, "tools")
sys.path.insert(0, TOOLS)
import seeded_weights  # noqa: E402


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        print("FAILED:", " ".join(cmd))
        print(r.stdout)
        sys.exit(1)
    return r.stdout


def compare(actual, expected, label, tolerance="1e-5"):
    out = run([sys.executable, os.path.join(TOOLS, "compare_npy.py"), actual, expected,
               "--rel-l2", tolerance])
    rel = [l for l in out.splitlines() if l.startswith("rel_l2")]
    print(f"{label}: {rel[0] if rel else out.strip()}")


def write_external_data(golden, case, path):
    """weights.bin: the seeded tensors case.json lists, in manifest order."""
    manifest = seeded_weights.load_manifest(os.path.join(golden, "manifest.json"))
    weights = seeded_weights.generate(manifest, case["seed"])
    moved = set(case["external"])
    with open(path, "wb") as f:
        for t in manifest["tensors"]:
            if t["name"] in moved:
                f.write(np.ascontiguousarray(weights[t["name"]], dtype="<f4").tobytes())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("--compiler", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--cuda", choices=["fp32"])
    ap.add_argument("--round-trip", action="store_true")
    ap.add_argument("--report", action="store_true")
    a = ap.parse_args()
    golden = os.path.join(HERE, "golden", a.case)
    case = json.load(open(os.path.join(golden, "case.json")))
    os.makedirs(a.work, exist_ok=True)
    w = lambda name: os.path.join(a.work, name)
    model = w(a.case + ".onnx")
    shutil.copyfile(os.path.join(golden, "model.onnx"), model)
    if case["kind"] == "external":
        write_external_data(golden, case, w("weights.bin"))
    x, expected = os.path.join(golden, "input.npy"), os.path.join(golden, "output.npy")
    shape = ["--batch", str(case["input_shape"][0])] if case.get("dynamic_batch") else []

    if a.cuda:
        run([a.compiler, "compile", model, "--target", "cuda-emulated", "--precision",
             a.cuda, "-o", w("cuda.exe")] + shape)
        run([w("cuda.exe"), "--device", "cuda", "--input", x, "--output", w("cuda.npy")])
        compare(w("cuda.npy"), expected, f"cuda {a.cuda} vs PyTorch")
        return
    run([a.compiler, "compile", model, "--target", "cpu", "-o", w("model.exe")] + shape)
    run([w("model.exe"), "--input", x, "--output", w("compiled.npy")])
    run([a.compiler, "run", model, "--input", x, "--output", w("interpreted.npy")] + shape)
    compare(w("compiled.npy"), expected, "compiled vs PyTorch")
    compare(w("interpreted.npy"), expected, "interpreter vs PyTorch")
    if a.round_trip:
        run([a.compiler, "import", model, "-o", w("model.yaml"), "--weights-out",
             w("model.safetensors")] + shape)
        run([a.compiler, "compile", w("model.yaml"), "--weights", w("model.safetensors"),
             "--target", "cpu", "-o", w("yaml.exe")])
        run([w("yaml.exe"), "--input", x, "--output", w("yaml.npy")])
        direct, via_yaml = np.load(w("compiled.npy")), np.load(w("yaml.npy"))
        if not np.array_equal(direct, via_yaml):
            print("FAILED: the compiled YAML of `kiln import` differs from the direct compile:"
                  f" max |diff| {np.abs(direct - via_yaml).max()}")
            sys.exit(1)
        print("ONNX -> YAML -> compile equals the direct compile")
    if a.report:
        report = json.loads(run([a.compiler, "report", model, "--format", "json"] + shape))
        for key in ("total_params", "total_mult_adds"):
            if report[key] != case[key]:
                print(f"FAILED: kiln report {key} {report[key]}, torchsummaryX {case[key]}")
                sys.exit(1)
        print(f"report totals equal torchsummaryX's: {case['total_params']} params, "
              f"{case['total_mult_adds']} mult-adds")


if __name__ == "__main__":
    main()
