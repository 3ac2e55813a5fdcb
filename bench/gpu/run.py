#!/usr/bin/env python3
"""The device check of kiln's CUDA target: one command on a GPU machine (issue 13).

    python3 bench/gpu/run.py BUNDLE --out DIR [--budget 480] [options]

BUNDLE is what bench/gpu/prepare.sh wrote on the build machine (manifest.json and
bundle.tar.xz of stripped executables: the GPU machine has no MLIR, no kiln, no nvcc). On
the device, with BUNDLE carried there (`carry: ["out/gpu"]`):

    PYTHONUNBUFFERED=1 python3 bench/gpu/run.py out/gpu --out $OUT --budget 480

Four stages, in this order, inside --budget seconds from the start (a stage that does not
fit is skipped and listed, never silently; what was measured is kept):

  (a) check     every correctness executable of the manifest (every model at fp32 and
                fp16, tf32 and bf16 for resnet50 and ghostnet, batch 2): seeded input,
                `EXE --dump-weights W.safetensors`, `EXE --device cpu` (the CPU path, run
                in parallel on the host's cores while the GPU works),
                `EXE --device cuda`, and PyTorch fp32 (TF32 off) of tools/kiln_torch with
                those weights. Relative L2 errors against the tolerances below.
  (b) sanitize  `compute-sanitizer --tool memcheck` and `--tool racecheck` on one small
                fp16 and one fp32 check executable (--sanitize-model, default cnn):
                clean / N errors / did not work here (the tool's own failure, e.g.
                "Device not supported" under gVisor) / not installed.
  (c) bench     resnet50 and ghostnet (the manifest's bench executables) at batch 1, 32,
                256, in --precisions order (fp16 first): kiln `EXE --device cuda --bench
                N` (CUDA events around graph replays) and PyTorch eager (cuDNN benchmark
                mode, channels_last, inference_mode, model and input in the precision) for
                every config; then torch.compile of the same module in the same order while
                the budget allows, in a worker process, each config bounded by
                --compile-timeout (compile and timing; the compile time is reported on its
                own, the runs are timed like eager). The mode that ran is recorded per row
                (--compile-mode, default reduce-overhead: CUDA graphs like kiln's, no
                autotuning that would not fit a ten-minute command).
  (d) profile   the three slowest steps of one config (--profile, default
                resnet50:fp16:256): `KILN_CUDA_PROFILE=20 EXE --bench 1` times every step
                of the forward pass with CUDA events; then `ncu --nvtx --nvtx-include`
                on each of the three (SpeedOfLight, LaunchStats, Occupancy) where ncu
                works, else the event timings stand. --profile-reserve seconds are kept
                for it from stage (c).

Tolerances (relative L2 ||a - e|| / ||e||, by kiln precision; PyTorch runs fp32):
    precision  GPU vs CPU  GPU vs PyTorch  CPU vs PyTorch
    fp32       1e-5        1e-4            1e-4
    tf32       5e-3        5e-3            5e-3
    fp16/bf16  1e-2        1e-2            1e-2

Output (DIR; the device tool brings back at most 8 files): results.json (everything,
rewritten after every row, so a run stopped at the command limit keeps what it measured),
report.md (the tables for BENCHMARKS.md), log.txt (every command and its output tail),
sanitizer.txt, profile.txt, ncu.txt and compile-worker.log. The tables are also printed.
Exit status: 0 when every check passed and nothing failed, 1 otherwise, 2 on bad usage.

Testing without a GPU (the build machine; tested by test/Bench/gpu-check.test):
    bench/gpu/prepare.sh /tmp/g --emulated --models cnn,simple_net --bench-models cnn ...
    /usr/bin/python3 bench/gpu/run.py /tmp/g --allow-cpu --profile cnn:fp16:2 --out /tmp/r
--allow-cpu runs PyTorch on the CPU; the executables of an --emulated bundle run their CUDA
code on kiln's SIMT emulator (`--device cuda`), so every stage runs as on the device, with
compute-sanitizer and ncu taken from PATH when there (a test puts stand-ins there). Its
numbers say nothing about a GPU. Where torch has no torch.compile (Debian's 1.13), the
compile stage times torch.jit.trace instead and says so.
"""
import argparse
import concurrent.futures
import csv
import datetime
import glob
import io
import itertools
import json
import os
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

PRECISIONS = ("fp16", "bf16", "tf32", "fp32")
# precision -> (GPU vs CPU, GPU vs PyTorch fp32, CPU vs PyTorch fp32), relative L2.
TOLERANCES = {"fp32": (1e-5, 1e-4, 1e-4), "tf32": (5e-3, 5e-3, 5e-3),
              "fp16": (1e-2, 1e-2, 1e-2), "bf16": (1e-2, 1e-2, 1e-2)}
BENCH_LINE = re.compile(r"^(?P<name>\S+): batch (?P<batch>\d+), (?P<device>.*), (?P<runs>\d+) "
                        r"runs: median (?P<median>[\d.]+) ms, p10 (?P<p10>[\d.]+) ms, "
                        r"p90 (?P<p90>[\d.]+) ms, (?P<ips>[\d.]+) images/s\s*$", re.M)
PROFILE_LINE = re.compile(r"^kiln-profile: step (?P<step>\d+) (?P<name>\S+) median "
                          r"(?P<median>[\d.]+) ms min (?P<min>[\d.]+) ms\s*$", re.M)
START = time.monotonic()


class Failure(Exception):
    """A step that failed, with a message fit for a table cell and the log."""


def elapsed():
    return time.monotonic() - START


# ------------------------------------------------------------------------------- output

class Output:
    """The files of DIR and the console. Every row lands in results.json at once."""

    FILES = ("results.json", "report.md", "log.txt", "sanitizer.txt", "profile.txt",
             "ncu.txt", "compile-worker.log")

    def __init__(self, path, env):
        self.dir = path
        os.makedirs(path, exist_ok=True)
        for name in self.FILES:              # a rerun starts clean
            if os.path.exists(os.path.join(path, name)):
                os.remove(os.path.join(path, name))
        self.data = {"environment": env, "check": [], "sanitize": [], "bench": [],
                     "profile": {}, "skipped": [], "stages": {}}
        self.lock = threading.Lock()
        self.save()

    def file(self, name):
        return os.path.join(self.dir, name)

    def save(self):
        with self.lock:
            tmp = self.file("results.json.tmp")
            with open(tmp, "w") as f:
                json.dump(self.data, f, indent=1, default=str)
            os.replace(tmp, self.file("results.json"))

    def add(self, kind, row):
        self.data[kind].append(row)
        self.save()

    def skip(self, stage, what, why):
        self.add("skipped", {"stage": stage, "what": what, "why": why})
        self.say(f"  {what}: skipped ({why})")

    def say(self, *parts):
        text = " ".join(str(p) for p in parts)
        print(text, flush=True)
        self.log(text)

    def log(self, text):
        with self.lock, open(self.file("log.txt"), "a") as f:
            f.write(text.rstrip("\n") + "\n")

    def append(self, name, text):
        with self.lock, open(self.file(name), "a") as f:
            f.write(text.rstrip("\n") + "\n")


# ------------------------------------------------------------------------------ running

def ensure_executable(path):
    if not os.path.isfile(path):
        raise Failure(f"missing executable {path} (rerun bench/gpu/prepare.sh)")
    if not os.access(path, os.X_OK):          # a copy may lose the mode bits
        os.chmod(path, 0o755)


def run_cmd(out, args, timeout, env=None, check=True):
    """Runs |args|; returns the CompletedProcess. The command and the end of its output go
    to log.txt; a timeout, a failure to start or (with |check|) a non-zero exit raises
    Failure naming the step."""
    short = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(args))
    if timeout <= 0:
        raise Failure(f"`{short}`: no time left in the budget")
    t0 = time.monotonic()
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=timeout,
                           env=None if env is None else {**os.environ, **env},
                           errors="replace")
    except subprocess.TimeoutExpired:
        out.log(f"$ {short}\n  timed out after {timeout:.0f} s")
        raise Failure(f"`{short}` ran over {timeout:.0f} s")
    except OSError as err:
        raise Failure(f"cannot run {args[0]}: {err}")
    tail = (p.stdout + p.stderr).strip().splitlines()[-6:]
    out.log(f"$ {short}  [exit {p.returncode}, {time.monotonic() - t0:.1f} s]\n  "
            + "\n  ".join(tail))
    if check and p.returncode != 0:
        last = " | ".join((p.stderr or p.stdout).strip().splitlines()[-3:])
        if p.returncode == -signal.SIGILL:
            last += (" | illegal instruction: the CPU code targets another CPU "
                     "(bench/gpu/prepare.sh --cpu, default x86-64-v3)")
        raise Failure(f"`{short}` exited {p.returncode}: {last}")
    return p


def exe_input_shape(out, exe, timeout):
    """The model input's shape from `EXE --help` ("input [2, 3, 224, 224], output ...")."""
    ensure_executable(exe)
    p = run_cmd(out, [exe, "--help"], timeout)
    m = re.search(r"^input \[([\d, ]+)\]", p.stdout, re.M)
    if not m:
        raise Failure(f"{exe} --help does not state the input shape")
    return [int(d) for d in m.group(1).split(",")]


def device_line(stderr, kiln_device):
    """The device the runtime says it ran on ("EXE: running on ..."); `--device cuda`
    fails rather than fall back, and this catches a runtime that would fall back anyway."""
    m = re.search(r"running on (.*)", stderr)
    if kiln_device == "cuda" and m and m.group(1).strip().startswith("the CPU"):
        raise Failure("`--device cuda` ran on the CPU: " + m.group(1).strip())
    return m.group(1).strip() if m else kiln_device


def check_variant(device, precision):
    """The default executables hold the mma.sync kernels and, in the tensor-core
    precisions, the sm_90a (TMA/wgmma) variant, which an sm_90 GPU (H100, H200) must run
    (kiln/cuda/arch.h; the runtime's "running on ..." line says "sm_90a kernels")."""
    if precision != "fp32" and "(sm_90," in device and "sm_90a kernels" not in device:
        raise Failure(f"an sm_90 GPU ran the mma.sync kernels ({device}): the executable "
                      "lacks its sm_90a code (prepare.sh without --cuda-arch builds it)")


def kiln_bench(out, exe, kiln_device, runs, timeout):
    p = run_cmd(out, [exe, "--device", kiln_device, "--bench", str(runs)], timeout)
    m = BENCH_LINE.search(p.stdout)
    if not m:
        raise Failure(f"no benchmark line in the output of {os.path.basename(exe)}: "
                      f"{p.stdout.strip()[-200:]!r}")
    if kiln_device == "cuda" and m.group("device").endswith("threads"):
        raise Failure(f"--device cuda benchmarked on the CPU ({m.group('device')})")
    return {"median_ms": float(m.group("median")), "p10_ms": float(m.group("p10")),
            "p90_ms": float(m.group("p90")), "images_per_s": float(m.group("ips")),
            "device": m.group("device")}


TOOL_PATH = None  # --tool-path


def find_tool(name):
    """|name| in --tool-path, else on PATH or where CUDA toolkits put it."""
    if TOOL_PATH is not None:
        return shutil.which(name, path=TOOL_PATH)
    found = shutil.which(name)
    if found:
        return found
    for pattern in (f"/usr/local/cuda/bin/{name}", f"/usr/local/cuda-*/bin/{name}",
                    f"/opt/nvidia/nsight-compute/*/{name}"):
        hits = sorted(glob.glob(pattern))
        if hits:
            return hits[-1]
    return None


# --------------------------------------------------------------------------- torch side

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
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                fn(x)
                times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"median_ms": statistics.median(times), "p10_ms": times[len(times) // 10],
            "p90_ms": times[min(len(times) - 1, 9 * len(times) // 10)]}


def bench_module(torch, model, precision, shape, device):
    """(module, input, memory format) ready to time: eval, on |device|, in |precision|,
    channels_last -- unless the model cannot run so (a .view of a channels_last tensor,
    as the seed CNN's flatten does): then NCHW, and the format says so."""
    from kiln_torch.models import build
    set_tf32(torch, precision == "tf32")
    torch.backends.cudnn.benchmark = True
    dtype = torch_dtype(torch, precision)
    net = build(model).eval().to(device).to(dtype)
    x = torch.randn(*shape, device=device).to(dtype)
    if len(shape) != 4:
        return net, x, "-"
    net_cl = net.to(memory_format=torch.channels_last)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    try:
        with torch.inference_mode():
            net_cl(x_cl)
        return net_cl, x_cl, "channels_last"
    except RuntimeError as err:
        if "view size is not compatible" not in str(err):
            raise
        return net.to(memory_format=torch.contiguous_format), x, "NCHW (channels_last fails)"


# ----------------------------------------------------------------------- compile worker

def compile_worker():
    """Child process: reads one JSON config per stdin line, answers one JSON line each on
    the original stdout; whatever torch itself prints goes to stderr (the worker's log)."""
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    import torch
    for line in sys.stdin:
        cfg = json.loads(line)
        try:
            device = cfg["device"]
            net, x, layout = bench_module(torch, cfg["model"], cfg["precision"], cfg["shape"],
                                          device)
            t = time.perf_counter()
            if hasattr(torch, "compile"):
                torch._dynamo.reset()    # fresh caches: no recompile limit across configs
                compiled = torch.compile(net, mode=cfg["mode"])
                mode = f"torch.compile(mode={cfg['mode']!r})"
            else:                        # torch 1.x (the build machine's Debian torch)
                with torch.no_grad():
                    compiled = torch.jit.freeze(torch.jit.trace(net, x))
                mode = f"torch.jit.trace (torch {torch.__version__} has no torch.compile)"
            with torch.inference_mode():
                compiled(x)
            if device == "cuda":
                torch.cuda.synchronize()
            compile_s = time.perf_counter() - t
            r = time_module(torch, compiled, x, cfg["runs"], device)
            r.update(ok=True, compile_s=compile_s, mode=mode, layout=layout)
            del net, compiled, x
            if device == "cuda":
                torch.cuda.empty_cache()
        except Exception as err:  # noqa: BLE001 - reported to the parent as a table cell
            r = {"ok": False, "error": f"{type(err).__name__}: {str(err).splitlines()[0][:200]}"
                 if str(err) else type(err).__name__}
        print(json.dumps(r), file=answers, flush=True)


class CompileWorker:
    """A long-lived `run.py --compile-worker`, killed (its whole process group: inductor's
    compile workers too) and restarted when a config runs over its timeout."""

    def __init__(self, logpath):
        self.logpath, self.proc, self.lines, self.logfile = logpath, None, None, None

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
            raise Failure(f"timeout (> {timeout:.0f} s, compile and runs)")
        if line is None:
            self.stop(kill=True)
            raise Failure("the worker died (see compile-worker.log)")
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
                os.killpg(self.proc.pid, signal.SIGKILL)
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
        return r["error"][:100]
    text = f"{r['median_ms']:.3f} ({r['p10_ms']:.3f}-{r['p90_ms']:.3f})"
    return text + (" NCHW" if r.get("layout", "").startswith("NCHW") else "")


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(out + ["| " + " | ".join(map(str, r)) + " |" for r in rows])


def environment(torch, cuda, manifest, argv, kiln_device):
    env = {"date": datetime.date.today().isoformat(), "torch": torch.__version__,
           "python": platform.python_version(), "host": platform.node(),
           "cpu_count": os.cpu_count(), "torch_device": "cuda" if cuda else "cpu",
           "kiln_device": kiln_device, "kiln_target": manifest.get("target"),
           "kiln_commit": manifest.get("kiln_commit"), "kiln_flags": manifest.get("flags"),
           "command": "python3 bench/gpu/run.py " + " ".join(argv)}
    if cuda:
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
    elif kiln_device == "cuda":
        env["gpu"] = ("none (--allow-cpu: kiln's CUDA code on its SIMT emulator, PyTorch on "
                      "the CPU; no GPU results)")
    else:
        env["gpu"] = "none (--allow-cpu: CPU only; no GPU results)"
    return env


# ------------------------------------------------------------------------------ stage a

def run_checks(torch, a, entries, ctx, out):
    """(a): every check executable's GPU output against its CPU path and PyTorch. The CPU
    runs go first, in parallel (they need no GPU); GPU runs and PyTorch follow in order."""
    failures = 0
    work = tempfile.mkdtemp(prefix="kiln-gpu-check-")
    cpus = os.cpu_count() or 1
    workers = max(1, min(4, cpus // 4))
    threads = max(1, cpus // workers)

    def cpu_side(e):
        """Input, weights and CPU output of |e| (in the thread pool)."""
        exe = os.path.join(a.bundle, e["file"])
        d = os.path.join(work, e["file"])
        os.makedirs(d, exist_ok=True)
        shape = exe_input_shape(out, exe, a.timeout)
        x = np.random.default_rng(a.seed).standard_normal(shape, dtype=np.float32)
        paths = {k: os.path.join(d, k) for k in ("x.npy", "w.safetensors", "cpu.npy", "gpu.npy")}
        np.save(paths["x.npy"], x)
        run_cmd(out, [exe, "--dump-weights", paths["w.safetensors"]],
                min(a.timeout, ctx.left()))
        run_cmd(out, [exe, "--device", "cpu", "--threads", str(threads), "--input",
                      paths["x.npy"], "--output", paths["cpu.npy"]], min(a.timeout, ctx.left()))
        return x, paths

    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
    futures = [pool.submit(cpu_side, e) for e in entries]
    try:
        for e, future in zip(entries, futures):
            name, prec = e["file"], e["precision"]
            if ctx.over():
                future.cancel()
                out.skip("check", name, "time budget")
                continue
            tol_cpu, tol_torch, tol_ref = TOLERANCES[prec]
            row = {"file": name, "model": e["model"], "precision": prec, "batch": e["batch"]}
            t0 = time.monotonic()
            try:
                try:
                    x, paths = future.result(timeout=max(1, ctx.left()))
                except concurrent.futures.TimeoutError:
                    raise Failure("the CPU run did not finish inside the budget")
                exe = os.path.join(a.bundle, name)
                p = run_cmd(out, [exe, "--device", ctx.kiln_device, "--input", paths["x.npy"],
                                  "--output", paths["gpu.npy"]], min(a.timeout, ctx.left()))
                row["kiln_device"] = device_line(p.stderr, ctx.kiln_device)
                check_variant(row["kiln_device"], prec)
                y_cpu, y_gpu = np.load(paths["cpu.npy"]), np.load(paths["gpu.npy"])

                from kiln_torch.models import build
                net = build(e["model"]).eval()
                load_kiln_weights(torch, net, paths["w.safetensors"])
                set_tf32(torch, False)
                with torch.inference_mode():
                    y_ref = net.to(ctx.torch_device)(torch.from_numpy(x).to(ctx.torch_device))
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
            out.add("check", row)
            out.say(f"  {row['result']}  {name}: {cells}  [{row['seconds']:.1f} s]")
            if ctx.torch_device == "cuda":
                torch.cuda.empty_cache()
    finally:
        for f in futures:
            f.cancel()
        pool.shutdown(wait=False)
    return failures


# ------------------------------------------------------------------------------ stage b

SANITIZER_BROKEN = re.compile(r"Device not supported|Unable to find injection|"
                              r"error 999|not supported on this|Failed to initialize|"
                              r"LibraryNotLoaded|CUDA_ERROR|unknown error", re.I)


def run_sanitize(a, entries, ctx, out):
    """(b): memcheck and racecheck on a small fp16 and a small fp32 executable."""
    failures = 0
    picked = []
    for prec in ("fp16", "fp32"):
        cands = [e for e in entries if e["purpose"] == "check" and e["precision"] == prec
                 and e["model"] == a.sanitize_model]
        if cands:
            picked.append(cands[0])
        else:
            out.skip("sanitize", f"{a.sanitize_model} {prec}", "no such check executable")
    tool = find_tool("compute-sanitizer")
    if not tool:
        for e in picked:
            for t in ("memcheck", "racecheck"):
                row = {"file": e["file"], "tool": t, "result": "not installed",
                       "detail": "compute-sanitizer not found"}
                out.add("sanitize", row)
        out.say("  compute-sanitizer: not installed ("
                + (f"--tool-path {TOOL_PATH}" if TOOL_PATH is not None else
                   "PATH, /usr/local/cuda/bin") + ")")
        return 0
    work = tempfile.mkdtemp(prefix="kiln-gpu-sanitize-")
    for e in picked:
        exe = os.path.join(a.bundle, e["file"])
        try:
            shape = exe_input_shape(out, exe, a.timeout)
        except Failure as err:
            out.add("sanitize", {"file": e["file"], "tool": "-", "result": "FAIL",
                                 "detail": str(err)})
            failures += 1
            continue
        xp = os.path.join(work, "x.npy")
        np.save(xp, np.random.default_rng(a.seed).standard_normal(shape, dtype=np.float32))
        for t in ("memcheck", "racecheck"):
            what = f"{e['file']} {t}"
            if ctx.over():
                out.skip("sanitize", what, "time budget")
                continue
            args = [tool, "--tool", t, "--error-exitcode", "3", "--print-limit", "20",
                    exe, "--device", ctx.kiln_device, "--input", xp,
                    "--output", os.path.join(work, "y.npy")]
            row = {"file": e["file"], "tool": t, "command": " ".join(args)}
            t0 = time.monotonic()
            try:
                p = run_cmd(out, args, min(a.sanitize_timeout, ctx.left()), check=False)
                text = p.stdout + p.stderr
                out.append("sanitizer.txt", f"===== {' '.join(args)}\nexit {p.returncode}\n{text}")
                # memcheck: "ERROR SUMMARY: N errors"; racecheck: "RACECHECK
                # SUMMARY: H hazards displayed (E errors, W warnings)".
                race = re.search(r"RACECHECK SUMMARY: (\d+) hazards? displayed \((\d+) errors?, "
                                 r"(\d+) warnings?\)", text)
                mem = re.search(r"ERROR SUMMARY: (\d+) errors?", text)
                errors = int(race.group(2)) if race else int(mem.group(1)) if mem else None
                if race:
                    row["warnings"] = int(race.group(3))
                if errors == 0 and p.returncode == 0:
                    row["result"] = "clean" + (f" ({row['warnings']} warnings)"
                                               if row.get("warnings") else "")
                elif errors:
                    row["result"] = f"{errors} error(s)"
                    failures += 1
                elif SANITIZER_BROKEN.search(text) or errors is None:
                    row["result"] = "did not work here"
                    row["detail"] = " | ".join(text.strip().splitlines()[-3:])[:300]
                else:
                    row["result"] = f"exit {p.returncode}"
                    failures += 1
            except Failure as err:
                row["result"], row["detail"] = "did not finish", str(err)
            row["seconds"] = round(time.monotonic() - t0, 1)
            out.add("sanitize", row)
            out.say(f"  {what}: {row['result']}" + (f" ({row['detail']})" if "detail" in row else "")
                    + f"  [{row['seconds']} s]")
    return failures


# ------------------------------------------------------------------------------ stage c

def run_bench(torch, a, entries, ctx, out):
    """(c): kiln and PyTorch eager for every config (cheap), precision by precision; then
    torch.compile in the same order (fp16 first), alternating the models."""
    failures, rows = 0, []
    order = {p: i for i, p in enumerate(a.precisions)}
    entries = sorted(entries, key=lambda e: (order[e["precision"]], e["batch"], e["model"]))
    for e in entries:
        name, model, prec, batch = e["file"], e["model"], e["precision"], e["batch"]
        if ctx.over(reserve=ctx.reserve):
            out.skip("bench", name, "time budget")
            continue
        row = {"file": name, "model": model, "precision": prec, "batch": batch,
               "kiln": None, "eager": None, "compile": None}
        rows.append(row)
        exe = os.path.join(a.bundle, name)
        try:
            row["kiln"] = kiln_bench(out, exe, ctx.kiln_device, a.runs,
                                     min(a.timeout, ctx.left()))
            check_variant(row["kiln"]["device"], prec)
        except Failure as err:
            row["kiln"] = {"error": "FAIL: " + str(err)}
            failures += 1
        try:
            shape = exe_input_shape(out, exe, a.timeout)
            net, x, layout = bench_module(torch, model, prec, shape, ctx.torch_device)
            row["eager"] = time_module(torch, net, x, a.runs, ctx.torch_device)
            row["eager"]["layout"] = layout
            del net, x
        except Exception as err:  # noqa: BLE001 - reported in the table
            row["eager"] = {"error": f"{type(err).__name__}: {str(err)[:120]}"}
        if ctx.torch_device == "cuda":
            torch.cuda.empty_cache()
        out.say(f"  {name}: kiln {fmt_ms(row['kiln'])} ms, eager {fmt_ms(row['eager'])} ms")
        out.data["bench"] = rows
        out.save()
    if a.no_compile:
        for row in rows:
            row["compile"] = {"error": "skipped (--no-compile)"}
        return failures, rows
    out.say(f"  torch.compile (mode {a.compile_mode!r}), at most {a.compile_timeout:.0f} s a "
            "config, compile and runs:")
    worker = CompileWorker(out.file("compile-worker.log"))
    try:
        for row in rows:
            left = ctx.left() - ctx.reserve
            if left < a.compile_min or "error" in (row["kiln"] or {}):
                why = "time budget" if left < a.compile_min else "no kiln timing"
                row["compile"] = {"error": f"skipped ({why})"}
                out.skip("compile", row["file"], why)
                continue
            shape = exe_input_shape(out, os.path.join(a.bundle, row["file"]), a.timeout)
            cfg = {"model": row["model"], "precision": row["precision"], "shape": shape,
                   "runs": a.runs, "mode": a.compile_mode, "device": ctx.torch_device}
            t0 = time.monotonic()
            try:
                row["compile"] = worker.run(cfg, min(a.compile_timeout, left))
            except Failure as err:
                row["compile"] = {"error": str(err), "mode": a.compile_mode}
            c = row["compile"]
            out.log(f"  torch.compile {row['file']}: {json.dumps(c)} "
                    f"[{time.monotonic() - t0:.0f} s]")
            out.say(f"  {row['file']}: {c.get('mode', a.compile_mode)} {fmt_ms(c)} ms"
                    + (f" (compiled in {c['compile_s']:.0f} s)" if "compile_s" in c else ""))
            out.data["bench"] = rows
            out.save()
    finally:
        worker.stop()
    return failures, rows


# ------------------------------------------------------------------------------ stage d

NCU_SECTIONS = ("SpeedOfLight", "LaunchStats", "Occupancy")
NCU_METRICS = {"Duration": "duration", "Compute (SM) Throughput": "sm_throughput_pct",
               "Memory Throughput": "memory_throughput_pct", "DRAM Throughput": "dram_pct",
               "Registers Per Thread": "registers", "Achieved Occupancy": "occupancy_pct",
               "Grid Size": "grid", "Block Size": "block",
               "Dynamic Shared Memory Per Block": "dynamic_smem"}


def parse_ncu_csv(text):
    """Kernels of `ncu --csv --page details`: [{kernel, metrics...}], one per launch."""
    start = text.find('"ID"')
    if start < 0:
        return []
    kernels = {}
    for rec in csv.DictReader(io.StringIO(text[start:])):
        key = rec.get("ID")
        k = kernels.setdefault(key, {"kernel": rec.get("Kernel Name", "?")})
        field = NCU_METRICS.get(rec.get("Metric Name", ""))
        if field:
            unit = rec.get("Metric Unit", "")
            k[field] = f"{rec.get('Metric Value', '')} {unit}".strip()
    return list(kernels.values())


def run_profile(a, entries, ctx, out):
    """(d): per-step CUDA-event timings of one config, then ncu on its three slowest
    steps."""
    model, prec, batch = a.profile
    cands = [e for e in entries if e["purpose"] == "bench" and e["model"] == model
             and e["precision"] == prec and e["batch"] == batch]
    what = f"{model} {prec} batch {batch}"
    if not cands:
        out.skip("profile", what, "not in the manifest")
        return 0
    if ctx.over():
        out.skip("profile", what, "time budget")
        return 0
    exe = os.path.join(a.bundle, cands[0]["file"])
    prof = {"config": what, "file": cands[0]["file"], "steps": [], "ncu": []}
    out.data["profile"] = prof
    try:
        p = run_cmd(out, [exe, "--device", ctx.kiln_device, "--bench", "1"],
                    min(a.timeout, ctx.left()), env={"KILN_CUDA_PROFILE": str(a.profile_runs)})
    except Failure as err:
        prof["error"] = str(err)
        out.save()
        out.say(f"  {what}: FAIL: {err}")
        return 1
    out.append("profile.txt", f"===== KILN_CUDA_PROFILE={a.profile_runs} "
               f"{cands[0]['file']} --bench 1\n{p.stderr}")
    prof["steps"] = [{"step": int(m.group("step")), "name": m.group("name"),
                      "median_ms": float(m.group("median")), "min_ms": float(m.group("min"))}
                     for m in PROFILE_LINE.finditer(p.stderr)]
    if not prof["steps"]:
        prof["error"] = "no kiln-profile lines (is this executable older than KILN_CUDA_PROFILE?)"
        out.save()
        out.say(f"  {what}: FAIL: {prof['error']}")
        return 1
    total = sum(s["median_ms"] for s in prof["steps"])
    prof["sum_of_medians_ms"] = total
    top = prof["steps"][:3]
    out.say(f"  {what}: {len(prof['steps'])} steps, sum of medians {total:.3f} ms; slowest: "
            + ", ".join(f"{s['name']} {s['median_ms']:.3f} ms" for s in top))
    out.save()
    ncu = find_tool("ncu")
    if not ncu:
        prof["ncu_status"] = "not installed: the CUDA-event timings above stand"
        out.say(f"  ncu: {prof['ncu_status']}")
        out.save()
        return 0
    worked = False
    for s in top:
        if ctx.over():
            out.skip("profile", f"ncu {s['name']}", "time budget")
            continue
        args = [ncu, "--clock-control", "none", "--nvtx", "--nvtx-include", s["name"] + "/",
                "--launch-count", "2", "--csv", "--page", "details"]
        for section in NCU_SECTIONS:
            args += ["--section", section]
        args += [exe, "--device", ctx.kiln_device, "--bench", "1"]
        r = {"step": s["name"], "event_median_ms": s["median_ms"]}
        try:
            p = run_cmd(out, args, min(a.ncu_timeout, ctx.left()),
                        env={"KILN_CUDA_PROFILE": "1"}, check=False)
            text = p.stdout + p.stderr
            out.append("ncu.txt", f"===== {' '.join(args)}\nexit {p.returncode}\n{text}")
            r["kernels"] = parse_ncu_csv(p.stdout)
            if r["kernels"]:
                worked = True
                r["result"] = "profiled"
            else:
                r["result"] = "ncu did not work here"
                r["detail"] = " | ".join(text.strip().splitlines()[-3:])[:300]
        except Failure as err:
            r["result"], r["detail"] = "did not finish", str(err)
        prof["ncu"].append(r)
        out.save()
        out.say(f"  ncu {s['name']}: {r['result']}"
                + "".join(f"; {k.get('kernel', '?')[:60]}: {k.get('duration', '?')}, SM "
                          f"{k.get('sm_throughput_pct', '?')}, memory "
                          f"{k.get('memory_throughput_pct', '?')}" for k in r.get("kernels", []))
                + (f" ({r['detail']})" if "detail" in r else ""))
    prof["ncu_status"] = ("worked" if worked else
                          "did not work here: the CUDA-event timings above stand")
    out.save()
    return 0


# --------------------------------------------------------------------------------- main

def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", help="what bench/gpu/prepare.sh wrote (manifest.json)")
    ap.add_argument("--out", help="where results go (default BUNDLE/results; on the device "
                    "machine $OUT, which comes back)")
    ap.add_argument("--budget", type=float, default=480,
                    help="seconds for the whole run; what does not fit is skipped (480)")
    ap.add_argument("--stages", default="check,sanitize,bench,profile",
                    help="comma-separated subset of check,sanitize,bench,profile")
    ap.add_argument("--models", help="comma-separated subset of the manifest's models")
    ap.add_argument("--batches", help="comma-separated bench batches (default: all)")
    ap.add_argument("--precisions", default=",".join(PRECISIONS),
                    help="bench precisions, in the order they run (fp16,bf16,tf32,fp32)")
    ap.add_argument("--runs", type=int, default=50, help="timed runs per config (50)")
    ap.add_argument("--timeout", type=float, default=180,
                    help="seconds per kiln executable run (180)")
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile")
    ap.add_argument("--compile-mode", default="reduce-overhead",
                    help="torch.compile mode (reduce-overhead)")
    ap.add_argument("--compile-timeout", type=float, default=60,
                    help="seconds per torch.compile config, compile and runs (60)")
    ap.add_argument("--compile-min", type=float, default=20,
                    help="start a torch.compile config only with this much budget left (20)")
    ap.add_argument("--sanitize-model", default="cnn",
                    help="the model whose fp16 and fp32 check executables run under "
                         "compute-sanitizer (cnn)")
    ap.add_argument("--sanitize-timeout", type=float, default=90,
                    help="seconds per compute-sanitizer run (90)")
    ap.add_argument("--profile", default="resnet50:fp16:256",
                    help="MODEL:PRECISION:BATCH of stage (d) (resnet50:fp16:256)")
    ap.add_argument("--profile-runs", type=int, default=20, help="KILN_CUDA_PROFILE runs (20)")
    ap.add_argument("--profile-reserve", type=float, default=75,
                    help="seconds of the budget kept from stage (c) for stage (d) (75)")
    ap.add_argument("--ncu-timeout", type=float, default=60, help="seconds per ncu run (60)")
    ap.add_argument("--tool-path",
                    help="directories (':'-separated) holding compute-sanitizer and ncu "
                         "(default: PATH, /usr/local/cuda/bin, /opt/nvidia/nsight-compute/*)")
    ap.add_argument("--seed", type=int, default=0, help="input seed (0)")
    ap.add_argument("--allow-cpu", action="store_true",
                    help="no GPU: PyTorch on the CPU, kiln's CUDA code on its emulator "
                         "(--emulated bundles) or kiln on the CPU (--cpu-only bundles)")
    a = ap.parse_args(argv)
    csvl = lambda s: [v.strip() for v in s.split(",") if v.strip()] if s else None
    a.stages = csvl(a.stages)
    for s in a.stages:
        if s not in ("check", "sanitize", "bench", "profile"):
            ap.error(f"unknown stage {s!r}")
    a.models, a.precisions = csvl(a.models), csvl(a.precisions)
    for p in a.precisions:
        if p not in PRECISIONS:
            ap.error(f"unknown precision {p!r}; expected one of {', '.join(PRECISIONS)}")
    try:
        a.batches = [int(b) for b in csvl(a.batches)] if a.batches else None
        m, p, b = a.profile.split(":")
        a.profile = (m, p, int(b))
    except ValueError:
        ap.error("--batches takes integers; --profile takes MODEL:PRECISION:BATCH")
    if a.runs < 1 or a.budget <= 0 or a.profile_runs < 1:
        ap.error("--runs, --budget and --profile-runs must be positive")
    return a


class Context:
    def __init__(self, a, kiln_device, torch_device):
        self.budget, self.kiln_device, self.torch_device = a.budget, kiln_device, torch_device
        self.reserve = 0.0

    def left(self):
        return self.budget - elapsed()

    def over(self, reserve=0.0):
        return self.left() <= reserve


def report(out, a, ctx, rows):
    """The Markdown tables: printed, and report.md."""
    env = out.data["environment"]
    lines = []
    header = f"GPU: {env['gpu']}"
    if ctx.torch_device == "cuda":
        header += (f", driver {env['driver']}, CUDA {env['cuda_runtime_of_torch']} (torch's), "
                   f"cuDNN {env['cudnn']}")
    header += f"; torch {env['torch']}; {env['date']}; kiln {env['kiln_commit']}"
    lines += [header, f"kiln --device {ctx.kiln_device}; command: `{env['command']}`"]
    ran = sorted({r["kiln_device"] for r in out.data["check"] if "kiln_device" in r}
                 | {(r["kiln"] or {}).get("device") for r in rows} - {None})
    if ran:
        lines.append("kiln ran on: " + "; ".join(ran))
    if out.data["check"]:
        crows = []
        for r in out.data["check"]:
            t = TOLERANCES[r["precision"]]
            if "error" in r:
                crows.append([r["model"], r["precision"], r["batch"], "-", "-", "-",
                              "FAIL: " + r["error"][:160]])
            else:
                crows.append([r["model"], r["precision"], r["batch"],
                              fmt_err(r["gpu_vs_cpu"], t[0]), fmt_err(r["gpu_vs_torch"], t[1]),
                              fmt_err(r["cpu_vs_torch"], t[2]), r["result"]])
        lines += ["", "(a) Correctness, relative L2 error (tolerance), kiln precision vs "
                  f"PyTorch fp32 (TF32 off), seeded weights and input (seed {a.seed}):", "",
                  table(["model", "precision", "batch", "GPU vs CPU", "GPU vs PyTorch",
                         "CPU vs PyTorch", "result"], crows)]
    if out.data["sanitize"]:
        lines += ["", "(b) compute-sanitizer:", "",
                  table(["executable", "tool", "result", "seconds"],
                        [[r["file"], r["tool"], r["result"] + (f" ({r['detail'][:100]})"
                                                              if "detail" in r else ""),
                          r.get("seconds", "-")] for r in out.data["sanitize"]])]
    if rows:
        brows = []
        for r in rows:
            k, eg, c = r["kiln"] or {}, r["eager"] or {}, r["compile"] or {}
            ratio = lambda o: (f"{o['median_ms'] / k['median_ms']:.2f}x"
                               if "median_ms" in o and "median_ms" in k else "-")
            brows.append([r["model"], r["batch"], r["precision"], fmt_ms(k), fmt_ms(eg),
                          fmt_ms(c), f"{c['compile_s']:.0f}" if "compile_s" in c else "-",
                          f"{k['images_per_s']:.0f}" if "images_per_s" in k else "-",
                          ratio(eg), ratio(c)])
        modes = sorted({(r["compile"] or {}).get("mode", "") for r in rows} - {""})
        eager = ("cuDNN (benchmark mode), channels_last (NCHW where marked: the model's flatten "
                 "cannot view channels_last), inference_mode, model and input in "
                 "the precision (fp32: TF32 off; tf32: allow_tf32; fp16/bf16: .half()/"
                 ".bfloat16()), CUDA events" if ctx.torch_device == "cuda"
                 else "on the CPU, perf_counter")
        lines += ["", f"(c) Latency in ms, median (p10-p90) of {a.runs} runs after warm-up; "
                  f"kiln: `EXE --device {ctx.kiln_device} --bench {a.runs}`; PyTorch eager: "
                  f"{eager}; torch.compile: {', '.join(modes) or a.compile_mode} of the same "
                  "module, its compile time in its own column. Speedup = PyTorch ms / kiln ms.",
                  "", table(["model", "batch", "precision", "kiln ms", "PyTorch eager ms",
                             "torch.compile ms", "compile s", "kiln images/s", "eager / kiln",
                             "compile / kiln"], brows)]
    prof = out.data["profile"]
    if prof.get("steps"):
        lines += ["", f"(d) {prof['config']}: {len(prof['steps'])} steps, sum of step medians "
                  f"{prof['sum_of_medians_ms']:.3f} ms (CUDA events around each step of "
                  f"eager passes, KILN_CUDA_PROFILE={a.profile_runs}); ncu: "
                  f"{prof.get('ncu_status', '-')}", ""]
        ncu = {r["step"]: r for r in prof.get("ncu", [])}
        prow = []
        for s in prof["steps"][:3]:
            r = ncu.get(s["name"], {})
            kern = r.get("kernels") or [{}]
            for k in kern:
                prow.append([s["name"], f"{s['median_ms']:.4f}", k.get("kernel", "-")[:70],
                             k.get("duration", "-"), k.get("sm_throughput_pct", "-"),
                             k.get("memory_throughput_pct", "-"), k.get("registers", "-"),
                             k.get("occupancy_pct", "-")])
        lines.append(table(["step", "event ms", "ncu kernel", "ncu duration", "SM %",
                            "memory %", "registers", "occupancy %"], prow))
    elif prof.get("error"):
        lines += ["", f"(d) {prof['config']}: FAIL: {prof['error']}"]
    if out.data["skipped"]:
        s = out.data["skipped"]
        lines += ["", f"Skipped: {len(s)} step(s): "
                  + ", ".join(f"{x['stage']} {x['what']} ({x['why']})" for x in s[:12])
                  + (" ..." if len(s) > 12 else "")]
    text = "\n".join(lines) + "\n"
    with open(out.file("report.md"), "w") as f:
        f.write(text)
    print("\n" + "=" * 78 + "\n" + text, flush=True)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--compile-worker"]:
        return compile_worker()
    a = parse_args(argv)
    global TOOL_PATH
    TOOL_PATH = a.tool_path
    mpath = os.path.join(a.bundle, "manifest.json")
    try:
        with open(mpath) as f:
            manifest = json.load(f)
        entries = manifest["executables"]
    except (OSError, ValueError, KeyError) as err:
        print(f"run.py: error: cannot read {mpath} ({err}); run bench/gpu/prepare.sh first",
              file=sys.stderr)
        return 2
    # prepare.sh packs the executables into bundle.tar.xz; unpack the ones not there yet.
    bundle = os.path.join(a.bundle, "bundle.tar.xz")
    if os.path.exists(bundle):
        import tarfile
        with tarfile.open(bundle, "r:xz") as tar:
            for member in tar.getmembers():
                if not member.isfile() or "/" in member.name or member.name.startswith("."):
                    continue
                if not os.path.exists(os.path.join(a.bundle, member.name)):
                    tar.extract(member, a.bundle)
                    os.chmod(os.path.join(a.bundle, member.name), 0o755)

    import torch
    cuda = torch.cuda.is_available()
    target = manifest.get("target", "all")
    if not cuda and not a.allow_cpu:
        print("run.py: error: torch.cuda.is_available() is False: no usable GPU or driver "
              f"(torch {torch.__version__}, built for CUDA {torch.version.cuda}). Use "
              "--allow-cpu to test this script without a GPU.", file=sys.stderr)
        return 2
    if target == "cpu":
        kiln_device = "cpu"
    elif target == "all-emulated":
        kiln_device = "cuda"           # the SIMT emulator
    else:
        kiln_device = "cuda" if cuda else "none"
    if (kiln_device != "cuda" or target == "all-emulated") and not a.allow_cpu:
        print(f"run.py: error: the bundle was prepared for '{target}' (no GPU code); use "
              "--allow-cpu, or prepare it again without --cpu-only/--emulated",
              file=sys.stderr)
        return 2
    if kiln_device == "none":
        print("run.py: error: these executables need a GPU; for a test without one, prepare "
              "an --emulated bundle", file=sys.stderr)
        return 2
    ctx = Context(a, kiln_device, "cuda" if cuda else "cpu")

    def keep(e):
        return ((not a.models or e["model"] in a.models)
                and (e["purpose"] != "bench" or ((not a.batches or e["batch"] in a.batches)
                                                 and e["precision"] in a.precisions)))
    entries = [e for e in entries if keep(e)]
    out = Output(a.out or os.path.join(a.bundle, "results"),
                 environment(torch, cuda, manifest, argv, kiln_device))
    env = out.data["environment"]
    out.say(f"GPU: {env['gpu']}; torch {env['torch']}; kiln {env['kiln_commit']}; budget "
            f"{a.budget:.0f} s; results in {out.dir}")
    if "--cuda-arch" in (manifest.get("flags") or ""):
        out.say(f"note: the executables were built with {manifest['flags']}: not the "
                "default ones (sm_80, sm_90a, compute_80) users get")
    failures = 0
    checks = [e for e in entries if e["purpose"] == "check"]
    benches = [e for e in entries if e["purpose"] == "bench"]
    profile_wanted = "profile" in a.stages and any(
        e["model"] == a.profile[0] and e["precision"] == a.profile[1]
        and e["batch"] == a.profile[2] for e in benches)
    rows = []
    for stage in ("check", "sanitize", "bench", "profile"):
        if stage not in a.stages:
            continue
        t0 = elapsed()
        if stage == "check" and checks:
            out.say(f"\n## (a) check: {len(checks)} executables (kiln --device {kiln_device}, "
                    f"PyTorch fp32 on {ctx.torch_device}, TF32 off) at {t0:.0f} s")
            failures += run_checks(torch, a, checks, ctx, out)
        elif stage == "sanitize":
            out.say(f"\n## (b) compute-sanitizer at {t0:.0f} s")
            failures += run_sanitize(a, checks, ctx, out)
        elif stage == "bench" and benches:
            ctx.reserve = a.profile_reserve if profile_wanted else 0.0
            out.say(f"\n## (c) bench: {len(benches)} configs, {a.runs} runs each, "
                    f"{ctx.reserve:.0f} s kept for (d), at {t0:.0f} s")
            f, rows = run_bench(torch, a, benches, ctx, out)
            failures += f
            ctx.reserve = 0.0
        elif stage == "profile":
            out.say(f"\n## (d) profile {a.profile[0]}:{a.profile[1]}:{a.profile[2]} "
                    f"at {t0:.0f} s")
            failures += run_profile(a, entries, ctx, out)
        out.data["stages"][stage] = round(elapsed() - t0, 1)
        out.save()
    report(out, a, ctx, rows)
    out.data["failures"] = failures
    out.data["seconds"] = round(elapsed(), 1)
    out.save()
    skipped = len(out.data["skipped"])
    out.say(f"{'ALL PASS' if not failures else f'{failures} FAILURE(S)'}"
            + (f" ({skipped} step(s) skipped, see above)" if skipped else "")
            + f"; {elapsed():.0f} s of {a.budget:.0f}; results in {out.dir}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
