#!/usr/bin/python3
"""CPU benchmark: kiln executables against PyTorch and ONNX Runtime, in one run.

    bench/cpu_bench.py [--kiln build/bin/kiln] [--models resnet50 ghostnet] [--batch 1]
                       [--threads 2] [--runs 50] [--variant NAME=FLAGS ...] [--no-ort]

Needs Debian's python3-torch/torchvision (./setup.sh --with-torch); ONNX Runtime comes from
npm (`npm install --ignore-scripts onnxruntime-node@1.30.0` into bench/.ort, done on first
use: the install script fetches GPU bits and fails, the CPU library is in the package).
Peers run the same model (tools/kiln_torch/models.py) with the same thread count:
  * PyTorch: eval(), torch.jit.trace + freeze + optimize_for_inference (its fastest CPU path);
  * ONNX Runtime: torch.onnx.export (opset 13), all graph optimizations, sequential.
Each --variant compiles kiln with extra `kiln compile` flags (e.g. `unfused=--no-fusion`).
Each peer is measured --repeats times (kiln and ONNX Runtime in fresh processes, PyTorch
after a warm-up) and the best median is kept. Prints a Markdown table of median latencies
(p10-p90) and the ratios to kiln's default build; kiln's kernel set is the one its executable
picks ($KILN_CPU forces one).
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tools"))

import torch  # noqa: E402

from kiln_torch.models import INPUT_SHAPES, build  # noqa: E402


def input_shape(model, batch):
    return [batch] + list(INPUT_SHAPES[model][1:])


def time_kiln(kiln, model, shape, threads, runs, flags, work):
    exe = os.path.join(work, f"{model}-{shape[0]}-{abs(hash(tuple(flags)))}")
    if not os.path.exists(exe):
        subprocess.run([kiln, "compile", os.path.join(ROOT, "models", model + ".yaml"),
                        "--input-shape", ",".join(map(str, shape)), "--target", "cpu",
                        "-o", exe] + flags,
                       check=True, stderr=subprocess.DEVNULL)
    out = subprocess.run([exe, "--bench", str(runs), "--threads", str(threads)],
                         check=True, capture_output=True, text=True).stdout
    # "...: median X ms, p10 Y ms, p90 Z ms, ..."
    fields = out.replace(",", "").split()
    get = lambda key: float(fields[fields.index(key) + 1])
    return get("median"), get("p10"), get("p90")


def time_torch(net, shape, threads, runs):
    torch.set_num_threads(threads)
    x = torch.randn(*shape)
    with torch.no_grad():
        traced = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(net, x)))
        for _ in range(max(3, runs // 10)):
            traced(x)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            traced(x)
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[len(times) // 10], times[min(len(times) - 1, 9 * len(times) // 10)]


def ensure_ort():
    ort_dir = os.path.join(HERE, ".ort")
    if not os.path.exists(os.path.join(ort_dir, "node_modules", "onnxruntime-node")):
        os.makedirs(ort_dir, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--ignore-scripts",
                        "onnxruntime-node@1.30.0"], cwd=ort_dir, check=True)
    return ort_dir


def time_ort(net, shape, threads, runs, work, model):
    ort_dir = ensure_ort()
    path = os.path.join(work, model + ".onnx")
    torch.onnx.export(net, torch.randn(*shape), path, opset_version=13)
    env = dict(os.environ, NODE_PATH=os.path.join(ort_dir, "node_modules"))
    out = subprocess.run(["node", os.path.join(HERE, "ort_bench.js"), path,
                          ",".join(map(str, shape)), str(threads), str(runs)],
                         check=True, capture_output=True, text=True, env=env).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return r["median_ms"], r["p10_ms"], r["p90_ms"]


def cpu_name():
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kiln", default=os.path.join(ROOT, "build", "bin", "kiln"))
    ap.add_argument("--models", nargs="+", default=["resnet50", "ghostnet"])
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--variant", action="append", default=[],
                    help="NAME=FLAGS: an extra kiln build, e.g. unfused=--no-fusion")
    ap.add_argument("--no-ort", action="store_true")
    ap.add_argument("--repeats", type=int, default=3,
                    help="measure each peer this many times (kiln and ONNX Runtime in fresh "
                         "processes) and keep the best median")
    a = ap.parse_args()
    variants = [("kiln", [])] + [(v.split("=", 1)[0], v.split("=", 1)[1].split())
                                 for v in a.variant]
    print(f"CPU: {cpu_name()}, {os.cpu_count()} CPUs; {a.threads} threads, batch {a.batch}, "
          f"{a.runs} runs; torch {torch.__version__}; {time.strftime('%Y-%m-%d')}\n")
    header = ["model"] + [n for n, _ in variants] + ["PyTorch (jit, frozen)"] + \
        ([] if a.no_ort else ["ONNX Runtime 1.30"]) + ["PyTorch / kiln"] + \
        ([] if a.no_ort else ["ORT / kiln"])
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    with tempfile.TemporaryDirectory() as work:
        for model in a.models:
            shape = input_shape(model, a.batch)
            net = build(model).eval()
            cells, base = [model], None
            best = lambda f: min((f() for _ in range(a.repeats)), key=lambda r: r[0])
            for _, flags in variants:
                m, p10, p90 = best(lambda: time_kiln(a.kiln, model, shape, a.threads, a.runs,
                                                     flags, work))
                base = base or m
                cells.append(f"{m:.2f} ms ({p10:.2f}-{p90:.2f})")
            tm, t10, t90 = best(lambda: time_torch(net, shape, a.threads, a.runs))
            cells.append(f"{tm:.2f} ms ({t10:.2f}-{t90:.2f})")
            if not a.no_ort:
                om, o10, o90 = best(lambda: time_ort(net, shape, a.threads, a.runs, work, model))
                cells.append(f"{om:.2f} ms ({o10:.2f}-{o90:.2f})")
            cells.append(f"{tm / base:.2f}x")
            if not a.no_ort:
                cells.append(f"{om / base:.2f}x")
            print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
