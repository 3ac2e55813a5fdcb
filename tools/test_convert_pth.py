#!/usr/bin/python3
"""Round-trip tests of tools/convert_pth.py (needs torch; run: /usr/bin/python3 THIS_FILE).

Each test saves a state_dict with torch.save in one of the accepted layouts, converts it, reads
the safetensors file back with seeded_weights.read_safetensors and checks names, order, stored
dtypes and values.
"""
import json
import os
import struct
import sys
import tempfile
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_pth  # noqa: E402
from kiln_torch.models import build  # noqa: E402
from seeded_weights import read_safetensors  # noqa: E402


def header_dtypes(path):
    """{name: safetensors dtype} from the header of |path|."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    return {k: v["dtype"] for k, v in header.items() if k != "__metadata__"}


def reference(state):
    """The state_dict as kiln should see it: no num_batches_tracked, float32 numpy values."""
    return {k: v.float().numpy() for k, v in state.items()
            if not k.endswith("num_batches_tracked")}


class ConvertPthTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        torch.manual_seed(0)
        model = build("cnn")
        model.train()(torch.randn(4, 1, 28, 28))       # non-trivial running stats
        self.state = model.state_dict()

    def tearDown(self):
        self.tmp.cleanup()

    def roundtrip(self, obj, name="w.pth"):
        src = os.path.join(self.tmp.name, name)
        dst = os.path.join(self.tmp.name, "w.safetensors")
        torch.save(obj, src)
        convert_pth.convert(src, dst, verbose=False)
        return dst, read_safetensors(dst)

    def assert_same(self, got, want):
        self.assertEqual(list(got), list(want))          # names and state_dict order
        for k in want:
            np.testing.assert_array_equal(got[k], want[k], err_msg=k)

    def test_bare_state_dict(self):
        _, got = self.roundtrip(self.state)
        self.assert_same(got, reference(self.state))

    def test_checkpoint_dict(self):
        for key in convert_pth.CHECKPOINT_KEYS:
            with self.subTest(key=key):
                _, got = self.roundtrip({"epoch": 3, key: self.state, "best_acc1": 0.5},
                                        "ckpt.pth.tar")
                self.assert_same(got, reference(self.state))

    def test_data_parallel_prefix(self):
        wrapped = {"module." + k: v for k, v in self.state.items()}
        for obj in (wrapped, {"state_dict": wrapped, "arch": "cnn"}):
            _, got = self.roundtrip(obj)
            self.assert_same(got, reference(self.state))

    def test_dtypes(self):
        state = {"a": torch.randn(3, 4).half(), "b": torch.randn(5).bfloat16(),
                 "c": torch.randn(2, 2, dtype=torch.float64), "d": torch.randn(7)}
        dst, got = self.roundtrip(state)
        self.assertEqual(header_dtypes(dst), {"a": "F16", "b": "BF16", "c": "F32", "d": "F32"})
        self.assert_same(got, reference(state))
        self.assertEqual(read_safetensors(dst, as_float32=False)["a"].dtype, np.float16)

    def test_rejects_non_weights(self):
        bad = dict(self.state, step=torch.tensor([1, 2]), note="hello")
        with self.assertRaises(convert_pth.ConversionError) as cm:
            self.roundtrip(bad)
        self.assertIn("'step': dtype torch.int64", str(cm.exception))
        self.assertIn("'note': a str, not a tensor", str(cm.exception))
        with self.assertRaises(convert_pth.ConversionError):
            self.roundtrip([1, 2, 3])


if __name__ == "__main__":
    unittest.main()
