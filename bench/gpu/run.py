#!/usr/bin/env python3
"""GPU check and benchmark of kiln's CUDA target (issue 5), run on a GPU machine.

    python3 bench/gpu/run.py OUTDIR [--quick] [--only-check | --only-bench] [--no-compile]
                             [--runs 50] [--budget 540] [--compile-timeout 120]
                             [--models a,b] [--batches 1,32] [--precisions fp32,fp16]
                             [--results PATH] [--allow-cpu]

End to end (the GPU machine has the NVIDIA driver, python3 with torch/torchvision/numpy, but
no LLVM/MLIR, no kiln and no network):
  1. build machine:  ./setup.sh (kiln built with nvcc), then  bench/gpu/prepare.sh out/gpu
     -- compiles `kiln compile models/M.yaml --target all --precision P --batch B` for the
     correctness set (every model at batch 2, fp32 and fp16; tf32 and bf16 too for resnet50
     and ghostnet) and the timing set (resnet50 and ghostnet at batch 1, 32, 256 in fp32,
     tf32, fp16, bf16), strips and packs them into out/gpu/bundle.tar.xz and writes
     out/gpu/manifest.json (<= 60 MiB in all).
  2. make out/gpu travel with the working tree: out/ is in .gitignore, so name out/gpu in
     the device tool's `carry` (64 MiB at most; the executables travel xz-compressed in
     out/gpu/bundle.tar.xz, which this script unpacks).
  3. GPU machine:  python3 bench/gpu/run.py out/gpu
     The executables need no CUDA toolkit there: cudart is linked statically, and only the
     NVIDIA driver (libcuda.so) is needed. Nothing is compiled there except by torch.compile.
  4. paste the printed Markdown (or OUTDIR/results.json) into BENCHMARKS.md.

Stages (each can be skipped; the whole run stays inside --budget seconds, default 540, so it
fits one 10-minute device command; what does not fit is listed as skipped, never silently):
  check   for each correctness executable: a seeded input x.npy (numpy, --seed), then
          `EXE --dump-weights W.safetensors` (the seeded weights, PyTorch state_dict names),
          `EXE --device cpu --input x.npy --output cpu.npy`,
          `EXE --device cuda --input x.npy --output gpu.npy`; the weights are loaded into
          tools/kiln_torch/models.py's model (load_state_dict), run by PyTorch in fp32 on the
          GPU with TF32 off (cudnn.allow_tf32 = cuda.matmul.allow_tf32 = False). Relative L2
          errors ||a - e|| / ||e||, tolerances by kiln precision:
              precision  GPU vs CPU  GPU vs PyTorch  CPU vs PyTorch
              fp32       1e-5        1e-4            1e-4
              tf32       5e-3        5e-3            5e-3
              fp16/bf16  1e-2        1e-2            1e-2
          PASS/FAIL per row; any FAIL (or a kiln run that fails) makes the exit status 1.
  bench   resnet50 and ghostnet x batch 1/32/256 x fp32/tf32/fp16/bf16 (what the manifest
          holds): kiln `EXE --device cuda --bench N` (its own CUDA-event timing), then PyTorch
          eager on the same GPU: cuDNN with cudnn.benchmark, channels_last, inference_mode,
          weights and input converted to the precision (fp32: TF32 off; tf32: allow_tf32 on;
          fp16/bf16: model.half() / .to(torch.bfloat16), not autocast: pure low-precision
          inference, as kiln does). Warm-up, then N runs timed with torch.cuda.Event, median.
  compile torch.compile(mode="max-autotune") of the same eager module, in a separate worker
          process so that each config is bounded by --compile-timeout (the worker is killed
          and restarted when a config runs over). Runs after all kiln/eager timings, as far
          as the budget goes; --no-compile skips it.

Device time is scarce (one 10-minute command, ~15 minutes a session, a machine start costs a
minute or two), so plan one call, e.g.
    PYTHONUNBUFFERED=1 python3 bench/gpu/run.py out/gpu --budget 520 --results $OUT/results.json
with the device tool's timeout_s at 600: checks ~1-2 min, kiln + eager timings ~3 min
(guesses, not yet measured), then torch.compile for as many configs as the budget leaves,
round-robin over the models, each bounded by --compile-timeout. A later call can narrow the
set, e.g. `--only-bench --batches 256 --precisions fp16,bf16` for more torch.compile configs.

Prints a correctness table and a timing table in Markdown (GPU name, driver, torch version,
date) and writes OUTDIR/results.json or --results PATH (rewritten after every row, so a run
stopped at the command limit keeps what it measured); torch.compile's own messages go to
compile-worker.log beside it.

Testing without a GPU (build machine, Debian python3-torch, CPU only):
    bench/gpu/prepare.sh /tmp/g --cpu-only --models simple_net,cnn,ghostnet --bench-batches 1
    /usr/bin/python3 bench/gpu/run.py /tmp/g --allow-cpu
--allow-cpu runs every "GPU" step on the CPU instead (kiln --device cpu, PyTorch on the CPU,
perf_counter timings, fp32 only); its numbers say nothing about the CUDA target.
"""
import argparse
import datetime
import json
import os
import itertools
import platform
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import numpy as np  # noqa: E402

PRECISIONS = ("fp32", "tf32", "fp16", "bf16")
# precision -> (GPU vs CPU, GPU vs PyTorch fp32, CPU vs PyTorch fp32), relative L2.
TOLERANCES = {"fp32": (1e-5, 1e-4, 1e-4), "tf32": (5e-3, 5e-3, 5e-3),
              "fp16": (1e-2, 1e-2, 1e-2), "bf16": (1e-2, 1e-2, 1e-2)}
BENCH_LINE = re.compile(r"^(?P<name>\S+): batch (?P<batch>\d+), (?P<device>.*), (?P<runs>\d+) "
                        r"runs: median (?P<median>[\d.]+) ms, p10 (?P<p10>[\d.]+) ms, "
                        r"p90 (?P<p90>[\d.]+) ms, (?P<ips>[\d.]+) images/s\s*$", re.M)
START = time.monotonic()


class Failure(Exception):
    """A step that failed, with a message fit for a table cell and the log."""


def log(*parts):
    print(*parts, flush=True)


def elapsed():
    return time.monotonic() - START


# ----------------------------------------------------------------------------- kiln side

def ensure_executable(path):
    if not os.path.isfile(path):
        raise Failure(f"missing executable {path} (rerun bench/gpu/prepare.sh)")
    if not os.access(path, os.X_OK):          # a copy may lose the mode bits
        os.chmod(path, 0o755)


def run_exe(args, timeout):
    """Runs a kiln executable; returns (stdout, stderr) or raises Failure naming the step."""
    ensure_executable(args[0])
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failure(f"`{' '.join(map(os.path.basename, args))}` ran over {timeout} s")
    except OSError as err:
        raise Failure(f"cannot run {args[0]}: {err}")
    if p.returncode != 0:
        tail = " | ".join((p.stderr or p.stdout).strip().splitlines()[-3:])
        if p.returncode == -signal.SIGILL:
            tail += (" | illegal instruction: the CPU code targets another CPU "
                     "(bench/gpu/prepare.sh --cpu, default x86-64-v3)")
        raise Failure(f"`{os.path.basename(args[0])} {' '.join(args[1:])}` exited "
                      f"{p.returncode}: {tail}")
    return p.stdout, p.stderr


def exe_input_shape(exe, timeout):
    """The model input's shape from `EXE --help` ("input [2, 3, 224, 224], output ...")."""
    out, _ = run_exe([exe, "--help"], timeout)
    m = re.search(r"^input \[([\d, ]+)\]", out, re.M)
    if not m:
        raise Failure(f"{exe} --help does not state the input shape")
    return [int(d) for d in m.group(1).split(",")]


def check_device_line(stderr, kiln_device):
    """The device the runtime says it ran on ("EXE: running on ..."). `--device cuda` fails
    rather than fall back to the CPU; this catches a runtime that would fall back anyway."""
    m = re.search(r"running on (.*)", stderr)
    if kiln_device == "cuda" and m and m.group(1).strip().startswith("the CPU"):
        raise Failure("`--device cuda` ran on the CPU: "
                      + " | ".join(stderr.strip().splitlines()[-2:]))
    return m.group(1).strip() if m else kiln_device


def kiln_bench(exe, kiln_device, runs, timeout):
    out, err = run_exe([exe, "--device", kiln_device, "--bench", str(runs)], timeout)
    m = BENCH_LINE.search(out)
    if not m:
        raise Failure(f"no benchmark line in the output of {os.path.basename(exe)}: "
                      f"{out.strip()[-200:]!r}")
    if kiln_device == "cuda" and m.group("device").endswith("threads"):
        raise Failure(f"--device cuda benchmarked on the CPU ({m.group('device')})")
    return {"median_ms": float(m.group("median")), "p10_ms": float(m.group("p10")),
            "p90_ms": float(m.group("p90")), "images_per_s": float(m.group("ips")),
            "device": m.group("device"), "line": m.group(0).strip()}


# ---------------------------------------------------------------------------- torch side

def set_tf32(torch, enabled):
    """TF32 for cuDNN convolutions and cuBLAS matmuls. The legacy flags only, which every
    torch reads (mixing them with the fp32_precision API of torch >= 2.9 raises); the new
    API only if the legacy one refuses."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.backends.cudnn.allow_tf32 = enabled
            torch.backends.cuda.matmul.allow_tf32 = enabled
        except RuntimeError:
            mode = "tf32" if enabled else "ieee"
            torch.backends.cudnn.conv.fp32_precision = mode
            torch.backends.cuda.matmul.fp32_precision = mode


def torch_dtype(torch, precision):
    return {"fp32": torch.float32, "tf32": torch.float32, "fp16": torch.float16,
            "bf16": torch.bfloat16}[precision]


def load_kiln_weights(torch, net, path):
    """Loads kiln's dumped safetensors into |net|; every parameter and buffer but
    num_batches_tracked must be there, with the right shape."""
    from seeded_weights import read_safetensors
    tensors = read_safetensors(path)
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in tensors.items()}
    expected = net.state_dict()
    bad = [f"{k}: {list(v.shape)} vs {list(expected[k].shape)}" for k, v in state.items()
           if k in expected and tuple(v.shape) != tuple(expected[k].shape)]
    if bad:
        raise Failure(f"weight shape mismatch: {'; '.join(bad[:3])}")
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise Failure(f"weights do not match the PyTorch model: missing {missing[:5]}, "
                      f"unexpected {unexpected[:5]}")


def time_module(torch, fn, x, runs, device):
    """Median/p10/p90 in ms of fn(x) after warm-up (CUDA events on the GPU)."""
    warmup = max(5, runs // 5)
    with torch.inference_mode():
        for _ in range(warmup):
            fn(x)
        times = []
        if device == "cuda":
            torch.cuda.synchronize()
            events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
                      for _ in range(runs)]
            for start, end in events:
                start.record()
                fn(x)
                end.record()
            torch.cuda.synchronize()
            times = [s.elapsed_time(e) for s, e in events]
        else:
            for _ in range(runs):
                t = time.perf_counter()
                fn(x)
                times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"median_ms": statistics.median(times), "p10_ms": times[len(times) // 10],
            "p90_ms": times[min(len(times) - 1, 9 * len(times) // 10)]}


def bench_module(torch, model, precision, shape, device):
    """(module, input) ready to time: eval, on |device|, in |precision|, channels_last."""
    from kiln_torch.models import build
    set_tf32(torch, precision == "tf32")
    torch.backends.cudnn.benchmark = True
    net = build(model).eval().to(device)
    x = torch.randn(*shape, device=device)
    if len(shape) == 4:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    dtype = torch_dtype(torch, precision)
    return net.to(dtype), x.to(dtype)


# --------------------------------------------------------------------- compile worker

def compile_worker():
    """Child process: reads one JSON config per stdin line, answers one JSON line each on the
    original stdout; whatever torch itself prints goes to stderr (the worker's log)."""
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    import torch
    for line in sys.stdin:
        cfg = json.loads(line)
        try:
            torch._dynamo.reset()        # fresh caches: no recompile limit across configs
            net, x = bench_module(torch, cfg["model"], cfg["precision"], cfg["shape"], "cuda")
            compiled = torch.compile(net, mode=cfg["mode"])
            t = time.perf_counter()
            with torch.inference_mode():
                compiled(x)
            torch.cuda.synchronize()
            compile_s = time.perf_counter() - t
            r = time_module(torch, compiled, x, cfg["runs"], "cuda")
            r.update(ok=True, compile_s=compile_s)
            del net, compiled, x
            torch.cuda.empty_cache()
        except Exception as err:  # noqa: BLE001 - reported to the parent as a table cell
            r = {"ok": False, "error": f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
                 if str(err) else type(err).__name__}
        print(json.dumps(r), file=answers, flush=True)


class CompileWorker:
    """A long-lived `run.py --compile-worker`, killed (its whole process group) and restarted
    when a config runs over its timeout."""

    def __init__(self, logpath):
        self.logpath, self.proc, self.lines = logpath, None, None

    def _start(self):
        self.logfile = open(self.logpath, "a")
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__),
                                      "--compile-worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.logfile, text=True,
                                     start_new_session=True)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, args=(self.proc, self.lines), daemon=True).start()

    @staticmethod
    def _read(proc, lines):
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    def run(self, cfg, timeout):
        if self.proc is None:
            self._start()
        self.proc.stdin.write(json.dumps(cfg) + "\n")
        self.proc.stdin.flush()
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            self.stop(kill=True)
            raise Failure(f"timeout (> {timeout:g} s)")
        if line is None:
            self.stop(kill=True)
            raise Failure(f"worker died (see {self.logpath})")
        r = json.loads(line)
        if not r.get("ok"):
            raise Failure(r.get("error", "failed"))
        return r

    def stop(self, kill=False):
        if self.proc is None:
            return
        if not kill:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                kill = True
        if kill and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)   # the worker and its autotuners
            except ProcessLookupError:
                pass
            self.proc.wait()
        self.logfile.close()
        self.proc = None


# ------------------------------------------------------------------------------ helpers

def rel_l2(actual, expected):
    if actual.shape != expected.shape:
        return float("inf")
    a, e = actual.astype(np.float64), expected.astype(np.float64)
    if not np.all(np.isfinite(a)):
        return float("nan")
    d, n = np.linalg.norm(a - e), np.linalg.norm(e)
    return float(d / n) if n > 0 else (0.0 if d == 0 else float("inf"))


def within(err, tol):
    return err == err and err <= tol     # NaN fails


def fmt_err(err, tol):
    return f"{err:.2e} ({'≤' if within(err, tol) else '>'} {tol:.0e})"


def fmt_ms(r):
    if not r:
        return "-"
    if "error" in r:
        return r["error"]
    return f"{r['median_ms']:.3f} ({r['p10_ms']:.3f}-{r['p90_ms']:.3f})"


def environment(torch, device, manifest, argv):
    env = {"date": datetime.date.today().isoformat(), "torch": torch.__version__,
           "python": platform.python_version(), "host": platform.node(),
           "cpu_count": os.cpu_count(), "device": device,
           "kiln_commit": manifest.get("kiln_commit"), "kiln_flags": manifest.get("flags"),
           "command": "python3 bench/gpu/run.py " + " ".join(argv)}
    if device == "cuda":
        env["gpu"] = torch.cuda.get_device_name(0)
        env["cuda_runtime_of_torch"] = torch.version.cuda
        env["cudnn"] = torch.backends.cudnn.version()
        env["driver"] = "unknown"
        if shutil.which("nvidia-smi"):
            try:
                env["driver"] = subprocess.run(
                    ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                    capture_output=True, text=True, timeout=30, check=True).stdout.split()[0]
            except (subprocess.SubprocessError, OSError, IndexError):
                pass
        if env["driver"] == "unknown" and os.path.exists("/proc/driver/nvidia/version"):
            with open("/proc/driver/nvidia/version") as f:
                m = re.search(r"Kernel Module\s+(?:for \S+\s+)?([\d.]+)", f.read())
            env["driver"] = m.group(1) if m else "unknown"
    else:
        env["gpu"] = "none (--allow-cpu: CPU only, numbers are not GPU results)"
    return env


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(out + ["| " + " | ".join(map(str, r)) + " |" for r in rows])


# --------------------------------------------------------------------------------- main

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", help="what bench/gpu/prepare.sh wrote (manifest.json)")
    ap.add_argument("--quick", action="store_true",
                    help="checks of resnet50 and ghostnet only; timings at batch 32 only, "
                         "20 runs")
    ap.add_argument("--only-check", action="store_true", help="correctness only")
    ap.add_argument("--only-bench", action="store_true", help="timings only")
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    ap.add_argument("--compile-mode", default="max-autotune",
                    help="torch.compile mode (default max-autotune)")
    ap.add_argument("--compile-timeout", type=float, default=120,
                    help="seconds per torch.compile config, compile and timing (default 120)")
    ap.add_argument("--runs", type=int, default=None, help="timed runs per config (default 50)")
    ap.add_argument("--budget", type=float, default=540,
                    help="seconds for the whole run; later steps are skipped (default 540)")
    ap.add_argument("--timeout", type=float, default=300,
                    help="seconds per kiln executable run (default 300)")
    ap.add_argument("--models", help="comma-separated subset of the manifest's models")
    ap.add_argument("--batches", help="comma-separated timing batches (default: all)")
    ap.add_argument("--precisions", help="comma-separated precisions (default: all)")
    ap.add_argument("--results", help="where to write results.json (default: OUTDIR/"
                    "results.json; on the device machine $OUT/results.json comes back)")
    ap.add_argument("--seed", type=int, default=0, help="input seed (default 0)")
    ap.add_argument("--allow-cpu", action="store_true",
                    help="no GPU: run the 'GPU' steps on the CPU (to test this script)")
    a = ap.parse_args(argv)
    if a.only_check and a.only_bench:
        ap.error("--only-check and --only-bench exclude each other")
    if a.runs is None:
        a.runs = 20 if a.quick else 50
    if a.runs < 1:
        ap.error("--runs must be >= 1")
    csv = lambda s: [v.strip() for v in s.split(",") if v.strip()] if s else None
    a.models, a.precisions = csv(a.models), csv(a.precisions)
    a.batches = [int(b) for b in csv(a.batches)] if a.batches else ([32] if a.quick else None)
    if a.quick and not a.models:
        a.models = ["resnet50", "ghostnet"]
    for p in a.precisions or []:
        if p not in PRECISIONS:
            ap.error(f"unknown precision {p!r}; expected one of {', '.join(PRECISIONS)}")
    return a


class Results:
    def __init__(self, path, env):
        self.path = path
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.data = {"environment": env, "check": [], "bench": [], "skipped": []}
        self.save()

    def save(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.data, f, indent=1)
        os.replace(tmp, self.path)

    def add(self, kind, row):
        self.data[kind].append(row)
        self.save()


def run_checks(torch, a, entries, kiln_device, torch_device, res):
    failures = 0
    with tempfile.TemporaryDirectory(prefix="kiln-gpu-check-") as work:
        for e in entries:
            name, prec = e["file"], e["precision"]
            if elapsed() > a.budget:
                res.add("skipped", {"stage": "check", "file": name, "why": "time budget"})
                log(f"  {name}: skipped (time budget)")
                continue
            exe = os.path.join(a.outdir, name)
            tol_cpu, tol_torch, tol_ref = TOLERANCES[prec]
            row = {"file": name, "model": e["model"], "precision": prec, "batch": e["batch"]}
            t0 = time.monotonic()
            try:
                shape = exe_input_shape(exe, a.timeout)
                x = np.random.default_rng(a.seed).standard_normal(shape, dtype=np.float32)
                xp, wp = os.path.join(work, "x.npy"), os.path.join(work, "w.safetensors")
                cp, gp = os.path.join(work, "cpu.npy"), os.path.join(work, "gpu.npy")
                for p in (wp, cp, gp):
                    if os.path.exists(p):
                        os.remove(p)
                np.save(xp, x)
                run_exe([exe, "--dump-weights", wp], a.timeout)
                run_exe([exe, "--device", "cpu", "--input", xp, "--output", cp], a.timeout)
                _, err = run_exe([exe, "--device", kiln_device, "--input", xp, "--output", gp],
                                 a.timeout)
                row["kiln_device"] = check_device_line(err, kiln_device)
                y_cpu, y_gpu = np.load(cp), np.load(gp)

                from kiln_torch.models import build
                net = build(e["model"]).eval()
                load_kiln_weights(torch, net, wp)
                set_tf32(torch, False)
                with torch.inference_mode():
                    y_ref = net.to(torch_device)(torch.from_numpy(x).to(torch_device))
                    y_ref = y_ref.float().cpu().numpy()
                del net
                row.update(gpu_vs_cpu=rel_l2(y_gpu, y_cpu), gpu_vs_torch=rel_l2(y_gpu, y_ref),
                           cpu_vs_torch=rel_l2(y_cpu, y_ref))
                ok = (within(row["gpu_vs_cpu"], tol_cpu) and within(row["gpu_vs_torch"], tol_torch)
                      and within(row["cpu_vs_torch"], tol_ref))
                row["result"] = "PASS" if ok else "FAIL"
                cells = (f"GPU vs CPU {fmt_err(row['gpu_vs_cpu'], tol_cpu)}, "
                         f"GPU vs PyTorch {fmt_err(row['gpu_vs_torch'], tol_torch)}, "
                         f"CPU vs PyTorch {fmt_err(row['cpu_vs_torch'], tol_ref)}")
            except Failure as err:
                row["result"], row["error"] = "FAIL", str(err)
                cells = str(err)
            except Exception as err:  # noqa: BLE001 - a broken row must not stop the others
                row["result"], row["error"] = "FAIL", f"{type(err).__name__}: {err}"
                cells = row["error"]
            row["seconds"] = round(time.monotonic() - t0, 2)
            failures += row["result"] != "PASS"
            res.add("check", row)
            log(f"  {row['result']}  {name}: {cells}  [{row['seconds']:.1f} s]")
            if torch_device == "cuda":
                torch.cuda.empty_cache()
    return failures


def run_bench(torch, a, entries, kiln_device, torch_device, res):
    failures, rows = 0, []
    for e in entries:
        name, model, prec, batch = e["file"], e["model"], e["precision"], e["batch"]
        row = {"file": name, "model": model, "precision": prec, "batch": batch,
               "kiln": None, "eager": None, "compile": None}
        rows.append(row)
        if elapsed() > a.budget:
            res.add("skipped", {"stage": "bench", "file": name, "why": "time budget"})
            row["kiln"] = {"error": "skipped (budget)"}
            log(f"  {name}: skipped (time budget)")
            continue
        exe = os.path.join(a.outdir, name)
        try:
            row["kiln"] = kiln_bench(exe, kiln_device, a.runs, a.timeout)
        except Failure as err:
            row["kiln"] = {"error": "FAIL: " + str(err)}
            failures += 1
        if torch_device == "cpu" and prec != "fp32":
            row["eager"] = {"error": "n/a on CPU"}
        else:
            try:
                shape = exe_input_shape(exe, a.timeout)
                net, x = bench_module(torch, model, prec, shape, torch_device)
                row["eager"] = time_module(torch, net, x, a.runs, torch_device)
                del net, x
            except Exception as err:  # noqa: BLE001 - reported in the table
                row["eager"] = {"error": f"{type(err).__name__}: {str(err)[:120]}"}
            if torch_device == "cuda":
                torch.cuda.empty_cache()
        log(f"  {name}: kiln {fmt_ms(row['kiln'])} ms, eager {fmt_ms(row['eager'])} ms")
        res.data["bench"] = rows
        res.save()
    return failures, rows


def run_compile(torch, a, rows, torch_device, res):
    if torch_device != "cuda" or not hasattr(torch, "compile"):
        for row in rows:
            row["compile"] = {"error": "n/a (no GPU)" if torch_device != "cuda"
                              else f"n/a (torch {torch.__version__} has no torch.compile)"}
        return
    # Round-robin over the models, so that a short budget still times each of them.
    by_model = {}
    for row in rows:
        by_model.setdefault(row["model"], []).append(row)
    order = [r for group in itertools.zip_longest(*by_model.values())
             for r in group if r is not None]
    worker = CompileWorker(os.path.join(os.path.dirname(os.path.abspath(res.path)),
                                        "compile-worker.log"))
    try:
        for row in order:
            left = a.budget - elapsed()
            if left < 20 or "error" in (row["kiln"] or {}):
                why = "skipped (budget)" if left < 20 else "skipped (no kiln timing)"
                row["compile"] = {"error": why}
                res.add("skipped", {"stage": "compile", "file": row["file"], "why": why})
                log(f"  {row['file']}: torch.compile {why}")
                continue
            timeout = min(a.compile_timeout, left)
            shape = exe_input_shape(os.path.join(a.outdir, row["file"]), a.timeout)
            cfg = {"model": row["model"], "precision": row["precision"], "shape": shape,
                   "runs": a.runs, "mode": a.compile_mode}
            try:
                row["compile"] = worker.run(cfg, timeout)
            except Failure as err:
                row["compile"] = {"error": str(err)}
            c = row["compile"]
            log(f"  {row['file']}: torch.compile {fmt_ms(c)} ms"
                + (f" (compiled in {c['compile_s']:.0f} s)" if "compile_s" in c else ""))
            res.data["bench"] = rows
            res.save()
    finally:
        worker.stop()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--compile-worker"]:
        return compile_worker()
    a = parse_args(argv)
    mpath = os.path.join(a.outdir, "manifest.json")
    try:
        with open(mpath) as f:
            manifest = json.load(f)
        entries = manifest["executables"]
    except (OSError, ValueError, KeyError) as err:
        print(f"run.py: error: cannot read {mpath} ({err}); run bench/gpu/prepare.sh first",
              file=sys.stderr)
        return 2
    # prepare.sh packs the executables into bundle.tar.xz (xz: ~4x smaller, so
    # more of them fit in what travels); unpack the ones not there yet.
    bundle = os.path.join(a.outdir, "bundle.tar.xz")
    if os.path.exists(bundle):
        import tarfile
        with tarfile.open(bundle, "r:xz") as tar:
            for member in tar.getmembers():
                if not member.isfile() or "/" in member.name or member.name.startswith("."):
                    continue
                if not os.path.exists(os.path.join(a.outdir, member.name)):
                    tar.extract(member, a.outdir)
                    os.chmod(os.path.join(a.outdir, member.name), 0o755)

    import torch
    cuda = torch.cuda.is_available()
    if not cuda and not a.allow_cpu:
        print("run.py: error: torch.cuda.is_available() is False: no usable GPU or driver "
              f"(torch {torch.__version__}, built for CUDA {torch.version.cuda}). Use "
              "--allow-cpu to test this script on the CPU.", file=sys.stderr)
        return 2
    torch_device = "cuda" if cuda else "cpu"
    kiln_device = "cuda" if cuda and manifest.get("target") != "cpu" else "cpu"
    if kiln_device == "cpu" and not a.allow_cpu:
        print("run.py: error: the executables were prepared with --cpu-only (no CUDA code); "
              "use --allow-cpu, or prepare them again without --cpu-only", file=sys.stderr)
        return 2

    def keep(e, purpose):
        return (e.get("purpose") == purpose and (not a.models or e["model"] in a.models)
                and (not a.precisions or e["precision"] in a.precisions)
                and (purpose == "check" or not a.batches or e["batch"] in a.batches))
    checks = [e for e in entries if keep(e, "check")] if not a.only_bench else []
    benches = [e for e in entries if keep(e, "bench")] if not a.only_check else []
    if not checks and not benches:
        print("run.py: error: nothing to run: the manifest holds no executables matching "
              "these options", file=sys.stderr)
        return 2

    env = environment(torch, torch_device, manifest, argv)
    res = Results(a.results or os.path.join(a.outdir, "results.json"), env)
    header = f"GPU: {env['gpu']}"
    if cuda:
        header += (f", driver {env['driver']}, CUDA {env['cuda_runtime_of_torch']} (torch's), "
                   f"cuDNN {env['cudnn']}")
    header += f"; torch {env['torch']}; {env['date']}; kiln {env['kiln_commit']}"
    log(header)
    if kiln_device == "cpu":
        log("NOTE: --allow-cpu: kiln runs with --device cpu; these are no GPU results.")
    failures = 0

    if checks:
        log(f"\n## check: {len(checks)} executables (kiln --device {kiln_device}, PyTorch fp32 "
            f"on {torch_device}, TF32 off)")
        failures += run_checks(torch, a, checks, kiln_device, torch_device, res)

    rows = []
    if benches:
        log(f"\n## bench: {len(benches)} configs, {a.runs} runs each")
        f, rows = run_bench(torch, a, benches, kiln_device, torch_device, res)
        failures += f
        if a.no_compile:
            for row in rows:
                row["compile"] = {"error": "skipped (--no-compile)"}
        else:
            log(f"\n## torch.compile(mode={a.compile_mode!r}), at most {a.compile_timeout:.0f} s "
                "per config")
            run_compile(torch, a, rows, torch_device, res)
        res.data["bench"] = rows
        res.save()

    # ------------------------------------------------------------------------ the report
    kdev = sorted({r["kiln_device"] for r in res.data["check"] if "kiln_device" in r}
                  | {r["kiln"]["device"] for r in rows if r["kiln"] and "device" in r["kiln"]})
    res.data["environment"]["kiln_device"] = kdev
    log("\n" + "=" * 78)
    log(header)
    log(f"kiln ran on: {', '.join(kdev) or '-'}")
    log(f"Command: `{env['command']}`")
    if checks:
        crows = []
        for r in res.data["check"]:
            t = TOLERANCES[r["precision"]]
            if "error" in r:
                crows.append([r["model"], r["precision"], r["batch"], "-", "-", "-",
                              "FAIL: " + r["error"][:160]])
            else:
                crows.append([r["model"], r["precision"], r["batch"],
                              fmt_err(r["gpu_vs_cpu"], t[0]), fmt_err(r["gpu_vs_torch"], t[1]),
                              fmt_err(r["cpu_vs_torch"], t[2]), r["result"]])
        log("\nCorrectness, relative L2 error (tolerance), kiln precision vs PyTorch fp32 "
            f"(TF32 off), seeded weights and input (seed {a.seed}):\n")
        log(table(["model", "precision", "batch", "GPU vs CPU", "GPU vs PyTorch",
                   "CPU vs PyTorch", "result"], crows))
    if rows:
        brows = []
        for r in rows:
            k, eg, c = r["kiln"] or {}, r["eager"] or {}, r["compile"] or {}
            ratio = lambda o: (f"{o['median_ms'] / k['median_ms']:.2f}x"
                               if "median_ms" in o and "median_ms" in k else "-")
            brows.append([r["model"], r["batch"], r["precision"], fmt_ms(k), fmt_ms(eg),
                          fmt_ms(c), f"{k['images_per_s']:.0f}" if "images_per_s" in k else "-",
                          ratio(eg), ratio(c)])
        eager = ("cuDNN (benchmark mode), channels_last, inference_mode, model and input in the "
                 "precision (fp32: TF32 off; tf32: allow_tf32; fp16/bf16: .half()/.bfloat16()), "
                 "CUDA events" if torch_device == "cuda" else "on the CPU, fp32 only")
        log(f"\nLatency in ms, median (p10-p90) of {a.runs} runs after warm-up; kiln: `EXE "
            f"--device {kiln_device} --bench {a.runs}`; PyTorch eager: {eager}; "
            f"torch.compile(mode=\"{a.compile_mode}\") of the same module. "
            "Speedup = PyTorch ms / kiln ms.\n")
        log(table(["model", "batch", "precision", "kiln ms", "PyTorch eager ms",
                   "torch.compile ms", "kiln images/s", "eager / kiln", "compile / kiln"], brows))
    if res.data["skipped"]:
        log(f"\nSkipped: {len(res.data['skipped'])} step(s) (time budget or options): "
            + ", ".join(f"{s['stage']} {s['file']}" for s in res.data["skipped"][:12])
            + (" ..." if len(res.data["skipped"]) > 12 else ""))
    res.data["failures"] = failures
    res.data["seconds"] = round(elapsed(), 1)
    res.save()
    skipped = len(res.data["skipped"])
    log(f"\n{'ALL PASS' if not failures else f'{failures} FAILURE(S)'}"
        + (f" ({skipped} step(s) skipped, see above)" if skipped else "")
        + f"; {elapsed():.0f} s; results in {res.path}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
