#!/usr/bin/python3
"""Every torchvision classification model, exported to ONNX at full size, through kiln.

    bench/check_onnx_models.py [--build BUILD_DIR] [--opset 13] [MODEL...]

Not part of the default test suite: it needs python3-torch, python3-torchvision
(./setup.sh --with-torch), several GB of disk and, for all models, hours. For each model of
torchvision.models.list_models() (or the ones named): build it with torchvision's own random
initialization (torch.manual_seed(0); no pretrained weights can be downloaded), export it the
way users do (`torch.onnx.export(model.eval(), x, opset_version=13)`: eval mode, batch norms
folded into convolutions, the weights embedded), compile the file with
`kiln compile model.onnx --target cpu`, run the executable on a U(-1, 1) 1x3x224x224 input
(299x299 for inception_v3) and compare with PyTorch's float64 output: relative L2 <= 1e-5.
Prints one line per model: PASS with the error, FAIL with it, or the first error kiln gave
(an unsupported op: the model is outside what kiln imports). Exits 1 if any model that kiln
compiled is wrong.
"""
import argparse
import io
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torchvision

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Skipped, with the reason. (Models over 2 GB of weights export with external data, which
# kiln reads, and embed in a large section: regnet_y_128gf's 2.6 GB pass.)
SKIP = {
    "vit_h_14": "a transformer (attention, LayerNorm: not imported) whose 2.5 GB export "
                "alone takes minutes",
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--opset", type=int, default=13)
    a = ap.parse_args()
    kiln = os.path.join(a.build, "bin", "kiln")
    names = a.models or torchvision.models.list_models(module=torchvision.models)
    torch.set_num_threads(2)
    failed = False
    for name in names:
        if name in SKIP:
            print(f"{name:22s} SKIP  {SKIP[name]}", flush=True)
            continue
        start = time.time()
        with tempfile.TemporaryDirectory() as work:
            torch.manual_seed(0)
            kw = {"aux_logits": False, "init_weights": True} \
                if name in ("googlenet", "inception_v3") else {}
            model = torchvision.models.get_model(name, **kw).eval()
            hw = 299 if name == "inception_v3" else 224
            x = torch.rand(1, 3, hw, hw) * 2 - 1
            path = os.path.join(work, name + ".onnx")
            try:
                torch.onnx.export(model, x, path, opset_version=a.opset)
            except Exception as e:  # noqa: BLE001 - the exporter's own limits
                print(f"{name:22s} SKIP  torch.onnx.export failed: {str(e).splitlines()[0]}",
                      flush=True)
                continue
            with torch.no_grad():
                expected = model.double()(x.double()).numpy()
            del model
            np.save(os.path.join(work, "x.npy"), x.numpy())
            r = subprocess.run([kiln, "compile", path, "--target", "cpu", "-o",
                                os.path.join(work, "exe")],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode != 0:
                lines = [l for l in r.stdout.splitlines() if "error" in l]
                ops = sorted({l.split("): error")[0].rsplit("(", 1)[-1] for l in lines
                              if "): error" in l})
                first = lines[0] if lines else r.stdout.strip()
                first = first.split(": error: ", 1)[-1]
                print(f"{name:22s} UNSUPPORTED  {len(lines)} errors, ops {', '.join(ops)}: "
                      f"{first}", flush=True)
                continue
            out = os.path.join(work, "y.npy")
            subprocess.run([os.path.join(work, "exe"), "--input", os.path.join(work, "x.npy"),
                            "--output", out], check=True, stdout=subprocess.DEVNULL)
            y = np.load(out).astype(np.float64)
            rel = float(np.linalg.norm(y - expected) / max(np.linalg.norm(expected), 1e-30))
            ok = rel <= 1e-5
            failed |= not ok
            print(f"{name:22s} {'PASS' if ok else 'FAIL'}  rel_l2 {rel:.3e}  "
                  f"({time.time() - start:.0f} s)", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
