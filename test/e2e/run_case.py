#!/usr/bin/env python3
"""Runs one end-to-end case of test/e2e/golden/ (a lit test helper).

    run_case.py CASE --compiler PATH/kiln --work DIR [--cuda PRECISION]

1. regenerates the case's weights with tools/seeded_weights.py (from the committed manifest;
   the weights themselves are not committed),
2. compiles models/<model>.yaml at the case's input shape for the CPU,
3. runs the executable and the reference interpreter (`kiln run`, on the imported IR and on
   the IR after the fusion passes) on the committed input,
4. checks both against PyTorch's output (relative L2 <= 1e-5) and against each other,
5. runs the executable again with each other CPU kernel set it holds that this CPU runs
   (KILN_CPU=avx512|avx2|portable) and checks each against PyTorch too.

With --qemu x86-64 it also runs the executable under `qemu-x86_64 -cpu max` (AVX2, no
AVX-512: the executable must pick the avx2 kernels) and `-cpu Nehalem` (no AVX: it must
pick the portable ones); with --qemu aarch64 it compiles with `--cpu aarch64` and runs
that under qemu-aarch64. Each is checked against PyTorch.

With --cuda fp32|tf32|fp16|bf16 it checks the CUDA code instead: compiled with
`--target cuda-emulated --precision P` (the generated CUDA C++, built by the host compiler
against kiln's SIMT emulator) and run on the CPU, against PyTorch and against the
interpreter, with the precision's tolerance (relative L2: fp32 1e-5, tf32 5e-3,
fp16/bf16 1e-2). The executable holds, by default, both variants of the CUDA code (the
sm_90a kernels -- TMA, mbarrier pipelines, wgmma -- that run on an H100/H200, and the
mma.sync kernels of every other GPU; kiln/cuda/arch.h); --emu-cc 8.0,9.0 runs the one
executable on an emulated GPU of each compute capability (KILN_EMU_CC; the emulator's
default is 9.0), checking each run and naming the GPU and the variant it ran. --cuda-arch
passes kiln compile's (e.g. sm_90a: the sm_90a variant alone). KILN_EMU_STRICT=1 makes any
copy or multiply never waited for an error.
With --state-dict f32|f64 it checks the weights contract instead: the weights are written as
`safetensors.torch.save_file(model.state_dict(), path)` writes them (of `model.double()` for
f64): the whole state_dict of the case's state_dict.json, num_batches_tracked I64 scalars
included, in save_file's order (seeded_weights.py --state-dict). Under --strict (the
default) they are loaded by all three paths that read weights: `kiln compile --weights`
(embedded; the executable runs without --weights), the executable's --weights, and
`kiln run --weights`; each output is checked against PyTorch.
Prints one line per check; exits 1 on the first failure.
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOOLS = os.path.join(ROOT, "tools")


def run(cmd, env=None):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       env=env)
    if r.returncode != 0:
        print("FAILED:", " ".join(cmd))
        print(r.stdout)
        sys.exit(1)
    return r.stdout


TOLERANCE = {"fp32": "1e-5", "tf32": "5e-3", "fp16": "1e-2", "bf16": "1e-2"}


def compare(actual, expected, label, tolerance="1e-5"):
    out = run([sys.executable, os.path.join(TOOLS, "compare_npy.py"), actual, expected,
               "--rel-l2", tolerance])
    rel = [l for l in out.splitlines() if l.startswith("rel_l2")]
    print(f"{label}: {rel[0] if rel else out.strip()}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("--compiler", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--cuda", choices=sorted(TOLERANCE))
    ap.add_argument("--cuda-arch", help="kiln compile --cuda-arch (e.g. sm_90a)")
    ap.add_argument("--emu-cc", default="",
                    help="compute capabilities of the emulated GPU to run on (KILN_EMU_CC), "
                         "comma-separated, e.g. 8.0,9.0")
    ap.add_argument("--qemu", choices=["x86-64", "aarch64"])
    ap.add_argument("--state-dict", choices=["f32", "f64"])
    a = ap.parse_args()
    golden = os.path.join(HERE, "golden", a.case)
    case = json.load(open(os.path.join(golden, "case.json")))
    os.makedirs(a.work, exist_ok=True)
    w = lambda name: os.path.join(a.work, name)
    shape = ",".join(map(str, case["input_shape"]))
    model = os.path.join(ROOT, "models", case["model"] + ".yaml")

    run([sys.executable, os.path.join(TOOLS, "seeded_weights.py"),
         os.path.join(golden, "manifest.json"), "-o", w("weights.safetensors"),
         "--seed", str(case["seed"]), "--dtype", case["weights_dtype"]])
    if a.state_dict:
        st = w("state_dict.safetensors")
        run([sys.executable, os.path.join(TOOLS, "seeded_weights.py"),
             os.path.join(golden, "manifest.json"), "-o", st, "--seed", str(case["seed"]),
             "--dtype", case["weights_dtype"], "--state-dict",
             os.path.join(golden, "state_dict.json")] +
            (["--double"] if a.state_dict == "f64" else []))
        x, expected = os.path.join(golden, "input.npy"), os.path.join(golden, "output.npy")
        run([a.compiler, "compile", model, "--input-shape", shape, "--target", "cpu",
             "--weights", st, "--strict", "-o", w("embedded.exe")])
        run([w("embedded.exe"), "--input", x, "--output", w("embedded.npy")])
        run([w("embedded.exe"), "--weights", st, "--strict", "--input", x,
             "--output", w("loaded.npy")])
        run([a.compiler, "run", model, "--input-shape", shape, "--weights", st, "--strict",
             "--input", x, "--output", w("interpreted.npy")])
        what = f"save_file state_dict ({a.state_dict})"
        compare(w("embedded.npy"), expected, f"compiled with {what} vs PyTorch")
        compare(w("loaded.npy"), expected, f"executable --weights {what} vs PyTorch")
        compare(w("interpreted.npy"), expected, f"kiln run --weights {what} vs PyTorch")
        return
    if a.cuda:
        arch = ["--cuda-arch", a.cuda_arch] if a.cuda_arch else []
        run([a.compiler, "compile", model, "--input-shape", shape, "--target",
             "cuda-emulated", "--precision", a.cuda, *arch, "-o", w("model.exe")])
        run([a.compiler, "run", model, "--input-shape", shape, "--weights",
             w("weights.safetensors"), "--input", os.path.join(golden, "input.npy"),
             "--output", w("interpreted.npy")])
        tol = TOLERANCE[a.cuda]
        for cc in a.emu_cc.split(",") if a.emu_cc else [None]:
            env = dict(os.environ, **({"KILN_EMU_CC": cc} if cc else {}))
            out = run([w("model.exe"), "--weights", w("weights.safetensors"), "--device", "cuda",
                       "--input", os.path.join(golden, "input.npy"), "--output", w("cuda.npy")],
                      env)
            # "running on kiln SIMT emulator (sm_90, fp16, sm_90a kernels)"
            where = re.search(r"running on .*\((sm_\d+), \w+(, sm_90a kernels)?\)", out)
            if not where:
                print("FAILED: no 'running on' line:\n" + out)
                sys.exit(1)
            label = (f"cuda {a.cuda}" + (f" {a.cuda_arch}" if a.cuda_arch else "") +
                     f" on {where.group(1)}" + (" (sm_90a kernels)" if where.group(2) else ""))
            compare(w("cuda.npy"), os.path.join(golden, "output.npy"), f"{label} vs PyTorch",
                    tol)
            compare(w("cuda.npy"), w("interpreted.npy"), f"{label} vs interpreter", tol)
        return
    run([a.compiler, "compile", model, "--input-shape", shape, "--target", "cpu",
         "-o", w("model.exe")])
    run([w("model.exe"), "--weights", w("weights.safetensors"),
         "--input", os.path.join(golden, "input.npy"), "--output", w("compiled.npy")])
    run([a.compiler, "run", model, "--input-shape", shape, "--weights", w("weights.safetensors"),
         "--input", os.path.join(golden, "input.npy"), "--output", w("interpreted.npy")])
    # The interpreter on the IR after the fusion passes checks their rewrites
    # in double precision.
    run([a.compiler, "run", model, "--fused", "--input-shape", shape, "--weights",
         w("weights.safetensors"), "--input", os.path.join(golden, "input.npy"),
         "--output", w("fused.npy")])
    expected = os.path.join(golden, "output.npy")
    compare(w("compiled.npy"), expected, "compiled vs PyTorch")
    compare(w("interpreted.npy"), expected, "interpreter vs PyTorch")
    compare(w("fused.npy"), expected, "fused interpreter vs PyTorch")
    compare(w("compiled.npy"), w("interpreted.npy"), "compiled vs interpreter")

    # Every other kernel set of the executable that this CPU runs.
    run_args = ["--weights", w("weights.safetensors"), "--input",
                os.path.join(golden, "input.npy")]
    help_text = run([w("model.exe"), "--help"])
    sets = [l for l in help_text.splitlines() if l.startswith("CPU kernels: ")][0]
    best = sets.split("this CPU: ")[1].split()[0]
    for name in sets[len("CPU kernels: "):].split(";")[0].split(", "):
        if name == best:
            continue
        env = dict(os.environ, KILN_CPU=name)
        r = subprocess.run([w("model.exe")] + run_args + ["--output", w(name + ".npy")],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0 and "this CPU cannot run" in r.stdout:
            print(f"kernel set {name}: not run (this CPU lacks it)")
            continue
        if r.returncode != 0:
            print("FAILED: KILN_CPU=" + name, r.stdout)
            sys.exit(1)
        compare(w(name + ".npy"), expected, f"compiled ({name} kernels) vs PyTorch")

    if a.qemu == "x86-64":
        for cpu, want in (("max", "avx2"), ("Nehalem", "portable")):
            qemu = ["qemu-x86_64", "-cpu", cpu, w("model.exe")]
            picked = run(qemu + ["--help"]).split("this CPU: ")[1].split()[0]
            run(qemu + run_args + ["--output", w("qemu-" + cpu + ".npy")])
            if picked != want:
                print(f"FAILED: under qemu -cpu {cpu} the executable picked {picked}, not {want}")
                sys.exit(1)
            compare(w("qemu-" + cpu + ".npy"), expected,
                    f"qemu-x86_64 -cpu {cpu} ({picked} kernels) vs PyTorch")
    elif a.qemu == "aarch64":
        run([a.compiler, "compile", model, "--input-shape", shape, "--target", "cpu",
             "--cpu", "aarch64", "-o", w("model-aarch64.exe")])
        run(["qemu-aarch64", w("model-aarch64.exe")] + run_args +
            ["--output", w("aarch64.npy")])
        compare(w("aarch64.npy"), expected, "qemu-aarch64 (neon kernels) vs PyTorch")


if __name__ == "__main__":
    main()
