#!/usr/bin/env python3
"""Checks the kiln Python module (python/kiln) against the executables (a lit helper).

    check_python.py LIBCNN.so CNN_INPUT.npy CNN_EXE_OUTPUT.npy WEIGHTS LIBTINY.so \
                    TINY_WEIGHTS FOLDER EXE_REPORT.csv OUTDIR

Prints one line per check; exits 1 on the first failure.
"""
import csv
import os
import sys
import threading
import warnings

import numpy as np

import kiln

(libcnn, x_path, y_path, weights, libtiny, tiny_weights, folder, report,
 outdir) = sys.argv[1:10]


def check(ok, what):
    if not ok:
        print("FAILED:", what)
        sys.exit(1)
    print("ok:", what)


def raises(exc, fn, contains):
    try:
        fn()
    except exc as e:
        check(contains in str(e), f"{exc.__name__}: {e}")
        return e
    check(False, f"no {exc.__name__} ({contains})")


m = kiln.load(libcnn, device="cpu", weights=weights)
print(m)
check(m.input_shape == (3, 1, 28, 28) and m.output_shape == (3, 10), "shapes")
check(m.batch == 3 and m.flexible_batch, "batch 3, flexible")
x, y = np.load(x_path), np.load(y_path)
got = m(x)
check(got.dtype == np.float32 and got.shape == y.shape, f"output {got.shape} {got.dtype}")
check(np.array_equal(got, y), "m(x) equals the executable's --output, bit for bit")
out = np.empty_like(y)
check(m.run(x, out=out) is out and np.array_equal(out, y), "run(x, out=)")
check(np.array_equal(m(x[1:2]), y[1:2]), "a batch of one")
check(np.array_equal(m(np.asfortranarray(x)), y), "a non-contiguous input")

raises(TypeError, lambda: m(x.astype(np.float64)), "the input must be float32, got float64")
raises(TypeError, lambda: m(x.tolist()), "the input must be a numpy array")
raises(ValueError, lambda: m(x[:, :, :27]),
       "the input has shape [7, 1, 27, 28]; this model takes [B, 1, 28, 28]")
raises(ValueError, lambda: m(x[0]), "this model takes [B, 1, 28, 28]")
raises(ValueError, lambda: m(x[:0]), "the input has shape [0, 1, 28, 28]")
e = raises(kiln.Error, lambda: kiln.load(libcnn, weights="/nonexistent/w.safetensors"),
           "cannot read '/nonexistent/w.safetensors': No such file or directory")
check(e.status == "KILN_ERROR_FILE", f"status {e.status}")
e = raises(kiln.Error, lambda: kiln.load(libcnn, device="tpu"), "device 'tpu': unknown device")
check(e.status == "KILN_ERROR_ARGUMENT", f"status {e.status}")
raises(kiln.Error, lambda: kiln.load(os.path.join(outdir, "missing.so")), "cannot load")
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    seeded = kiln.load(libcnn, device="cpu")
    check(any("seeded weights" in str(i.message) for i in w), "a warning for seeded weights")
raises(kiln.Error, lambda: seeded.load_image("/nonexistent.png"),
       "images need a model with an N x 3 x H x W input")

# Sessions on threads, concurrently: each output as the single-threaded one.
results = []


def worker():
    s = kiln.load(libcnn, device="cpu", threads=1, weights=weights)
    results.append(all(np.array_equal(s(x), y) for _ in range(3)))
    s.close()


threads = [threading.Thread(target=worker) for _ in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
check(results == [True] * 3, "three sessions on threads")

# A second model in the same process; eval_folder mirrors --eval.
tiny = kiln.load(libtiny, device="cpu", weights=tiny_weights)
r = tiny.eval_folder(folder, batch_size=3, report=os.path.join(outdir, "py-report.csv"))
print(r)
want = list(csv.reader(open(report)))
got = list(csv.reader(open(os.path.join(outdir, "py-report.csv"))))
check(got == want, "eval_folder's report equals --eval-report's")
check(r.total == len(want) - 1 and r.correct1 == sum(row[2] == row[1] for row in want[1:]),
      "top-1 count")
img = tiny.load_image(os.path.join(folder, "kiwi", "k1.png"))
check(img.shape == (3, 32, 32) and img.dtype == np.float32, "load_image")
tiny.close()
raises(kiln.Error, lambda: tiny(np.zeros((1, 3, 32, 32), np.float32)), "the model was closed")
print("OK")
