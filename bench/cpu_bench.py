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
after a warm-up) and the best median (--stat p10: the best 10th percentile) is kept. Prints a
Markdown table of median latencies (p10-p90) and the ratios to kiln's default build; kiln's kernel set is the one its executable
picks ($KILN_CPU forces one; --kernel-sets adds a column per set, e.g. avx2 on an AVX-512
machine).
"""
import argparse
import json
import os
import resource
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


def time_kiln(kiln, model, shape, threads, runs, flags, work, kernel_set=None,
              cpu_time=False):
    exe = os.path.join(work, f"{model}-{shape[0]}-{abs(hash(tuple(flags)))}")
    if not os.path.exists(exe):
        subprocess.run([kiln, "compile", os.path.join(ROOT, "models", model + ".yaml"),
                        "--input-shape", ",".join(map(str, shape)), "--target", "cpu",
                        "-o", exe] + flags,
                       check=True, stderr=subprocess.DEVNULL)
    if cpu_time:
        return cpu_kiln(exe, runs, kernel_set)
    env = dict(os.environ)
    if kernel_set:
        env["KILN_CPU"] = kernel_set
    out = subprocess.run([exe, "--bench", str(runs), "--threads", str(threads)],
                         check=True, capture_output=True, text=True, env=env).stdout
    # "...: median X ms, p10 Y ms, p90 Z ms, ..."
    fields = out.replace(",", "").split()
    get = lambda key: float(fields[fields.index(key) + 1])
    return get("median"), get("p10"), get("p90")


def child_cpu_ms(cmd, env=None):
    """CPU time (user + system, ms) that running |cmd| to completion costs."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return 1000 * (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)


def cpu_per_run(cmd_for, inferences, runs):
    """CPU ms per inference of a process that runs |inferences|(n) inferences when
    asked for n runs: the difference between n = 10 and n = 10 + |runs|, so that
    loading, preparing and exporting cancel out."""
    lo, hi = 10, 10 + runs
    return (child_cpu_ms(*cmd_for(hi)) - child_cpu_ms(*cmd_for(lo))) / \
        (inferences(hi) - inferences(lo))


def cpu_kiln(exe, runs, kernel_set):
    env = dict(os.environ)
    if kernel_set:
        env["KILN_CPU"] = kernel_set
    ms = cpu_per_run(lambda n: ([exe, "--bench", str(n), "--threads", "1"], env),
                     lambda n: n + min(max(n // 10, 3), 100), runs)  # main.cpp's warm-up
    return ms, ms, ms


def cpu_ort(path, shape, runs, env):
    cmd = lambda n: (["node", os.path.join(HERE, "ort_bench.js"), path,
                      ",".join(map(str, shape)), "1", str(n)], env)
    ms = cpu_per_run(cmd, lambda n: n + max(3, n // 10 + (n % 10 > 0)), runs)  # ort_bench.js
    return ms, ms, ms


def time_torch(net, shape, threads, runs, cpu_time=False):
    torch.set_num_threads(threads)
    x = torch.randn(*shape)
    with torch.no_grad():
        traced = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(net, x)))
        for _ in range(max(3, runs // 10)):
            traced(x)
        if cpu_time:
            start = time.process_time()
            for _ in range(runs):
                traced(x)
            ms = (time.process_time() - start) * 1000 / runs
            return ms, ms, ms
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


def time_ort(net, shape, threads, runs, work, model, cpu_time=False):
    ort_dir = ensure_ort()
    path = os.path.join(work, model + ".onnx")
    if not os.path.exists(path):
        torch.onnx.export(net, torch.randn(*shape), path, opset_version=13)
    env = dict(os.environ, NODE_PATH=os.path.join(ort_dir, "node_modules"))
    if cpu_time:
        return cpu_ort(path, shape, runs, env)
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
    ap.add_argument("--kernel-sets", nargs="+", default=[],
                    help="also time kiln's default build with each of these kernel sets "
                         "(KILN_CPU=...), e.g. avx2 on an AVX-512 machine")
    ap.add_argument("--stat", choices=["median", "p10"], default="median",
                    help="the statistic each cell leads with, best-of and ratios use: the "
                         "median, or the 10th percentile (a machine that others load "
                         "leaves the median mostly measuring them)")
    ap.add_argument("--cpu-time", action="store_true",
                    help="with --threads 1: CPU time per inference instead of wall-clock "
                         "time (what a loaded machine's scheduler does not distort): the "
                         "process's CPU time at two run counts, differenced")
    ap.add_argument("--no-ort", action="store_true")
    ap.add_argument("--repeats", type=int, default=3,
                    help="measure each peer this many times (kiln and ONNX Runtime in fresh "
                         "processes) and keep the best median")
    a = ap.parse_args()
    if a.cpu_time and a.threads != 1:
        ap.error("--cpu-time needs --threads 1 (CPU time sums the threads)")
    variants = [("kiln", [], None)] + \
        [(f"kiln ({s})", [], s) for s in a.kernel_sets] + \
        [(v.split("=", 1)[0], v.split("=", 1)[1].split(), None) for v in a.variant]
    print(f"CPU: {cpu_name()}, {os.cpu_count()} CPUs; {a.threads} threads, batch {a.batch}, "
          f"{a.runs} runs; torch {torch.__version__}; {time.strftime('%Y-%m-%d')}; cells: "
          + ("CPU time per inference" if a.cpu_time else
             "median (p10-p90)" if a.stat == "median" else "p10 (median-p90)") + "\n")
    # (median, p10, p90) as the table shows it.
    cell = (lambda r: f"{r[0]:.2f} ms ({r[1]:.2f}-{r[2]:.2f})") if a.stat == "median" else \
        (lambda r: f"{r[1]:.2f} ms ({r[0]:.2f}-{r[2]:.2f})")
    if a.cpu_time:
        cell = lambda r: f"{r[0]:.2f} ms"  # noqa: E731
    header = ["model"] + [n for n, _, _ in variants] + ["PyTorch (jit, frozen)"] + \
        ([] if a.no_ort else ["ONNX Runtime 1.30"]) + ["PyTorch / kiln"] + \
        ([] if a.no_ort else ["ORT / kiln"])
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    with tempfile.TemporaryDirectory() as work:
        for model in a.models:
            shape = input_shape(model, a.batch)
            net = build(model).eval()
            cells, base = [model], None
            key = 0 if a.stat == "median" else 1
            best = lambda f: min((f() for _ in range(a.repeats)), key=lambda r: r[key])
            for _, flags, kernel_set in variants:
                r = best(lambda: time_kiln(a.kiln, model, shape, a.threads, a.runs,
                                           flags, work, kernel_set, a.cpu_time))
                base = base or r[key]
                cells.append(cell(r))
            t = best(lambda: time_torch(net, shape, a.threads, a.runs, a.cpu_time))
            cells.append(cell(t))
            if not a.no_ort:
                o = best(lambda: time_ort(net, shape, a.threads, a.runs, work, model,
                                          a.cpu_time))
                cells.append(cell(o))
            cells.append(f"{t[key] / base:.2f}x")
            if not a.no_ort:
                cells.append(f"{o[key] / base:.2f}x")
            print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
