"""Run a kiln-compiled model from Python: ctypes and numpy, no compiled extension.

    kiln compile models/resnet50.yaml --emit=lib -o libresnet50.so --weights W.safetensors

    import numpy as np
    import kiln
    m = kiln.load("libresnet50.so")          # device="auto", threads=0, weights=None
    x = np.zeros((8, 3, 224, 224), np.float32)
    y = m(x)                                  # (8, 1000) float32
    r = m.eval_folder("val/")                 # as `EXE --eval val/`: r.top1, r.top5

The library (kiln.h) does the work; this module checks shapes and dtypes, turns the
library's errors into kiln.Error (its message and status), and mirrors the executables'
--eval. Calls into the library release the GIL, so threads may run several models (one
session each) at once.
"""
import concurrent.futures
import ctypes
import os
import time
import warnings

import numpy as np

__all__ = ["load", "Model", "Error", "EvalResult", "IMAGE_EXTENSIONS"]

API_VERSION = 1
MAX_RANK = 8

# torchvision.datasets.folder.IMG_EXTENSIONS: what ImageFolder lists.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
# What kiln decodes.
DECODED_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".pgm")

STATUS_NAMES = {
    0: "KILN_OK", 1: "KILN_ERROR_ARGUMENT", 2: "KILN_ERROR_FILE", 3: "KILN_ERROR_WEIGHTS",
    4: "KILN_ERROR_DEVICE", 5: "KILN_ERROR_MEMORY", 6: "KILN_ERROR_RUNTIME",
}


class Error(Exception):
    """A failure reported by the library: .status (e.g. "KILN_ERROR_FILE") and .message."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = STATUS_NAMES.get(status, str(status))
        self.message = message


class _ModelInfo(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("input_rank", ctypes.c_int),
        ("input_shape", ctypes.c_int64 * MAX_RANK),
        ("output_rank", ctypes.c_int),
        ("output_shape", ctypes.c_int64 * MAX_RANK),
        ("flexible_batch", ctypes.c_int),
        ("imagenet_classes", ctypes.c_int),
        ("embedded_weights", ctypes.c_int),
        ("cpu_kernels", ctypes.c_char_p),
        ("cpu_selected", ctypes.c_char_p),
        ("cuda_precision", ctypes.c_char_p),
    ]


_LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)


class _Options(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_size_t),
        ("device", ctypes.c_char_p),
        ("threads", ctypes.c_int),
        ("weights", ctypes.c_char_p),
        ("strict", ctypes.c_int),
        ("log", _LOG_FN),
        ("log_user", ctypes.c_void_p),
    ]


class _Transform(ctypes.Structure):
    _fields_ = [
        ("resize_h", ctypes.c_int),
        ("resize_w", ctypes.c_int),
        ("crop_h", ctypes.c_int),
        ("crop_w", ctypes.c_int),
        ("mean", ctypes.c_float * 3),
        ("std", ctypes.c_float * 3),
    ]


def _bind(lib):
    """Declares the prototypes of kiln.h on |lib| (a ctypes.CDLL)."""
    f32p = ctypes.POINTER(ctypes.c_float)
    i64p = ctypes.POINTER(ctypes.c_int64)
    sigs = {
        "kiln_api_version": (ctypes.c_int, []),
        "kiln_last_error": (ctypes.c_char_p, []),
        "kiln_model": (None, [ctypes.POINTER(_ModelInfo)]),
        "kiln_imagenet_label": (ctypes.c_char_p, [ctypes.c_int]),
        "kiln_options_init": (None, [ctypes.POINTER(_Options)]),
        "kiln_open": (ctypes.c_int, [ctypes.POINTER(_Options), ctypes.POINTER(ctypes.c_void_p)]),
        "kiln_close": (None, [ctypes.c_void_p]),
        "kiln_device": (ctypes.c_char_p, [ctypes.c_void_p]),
        "kiln_on_gpu": (ctypes.c_int, [ctypes.c_void_p]),
        "kiln_input_shape": (ctypes.c_int, [ctypes.c_void_p, i64p]),
        "kiln_output_shape": (ctypes.c_int, [ctypes.c_void_p, i64p]),
        "kiln_run": (ctypes.c_int, [ctypes.c_void_p, f32p, ctypes.c_int64, f32p]),
        "kiln_bench": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_int64, ctypes.c_int,
                                      ctypes.c_int, ctypes.POINTER(ctypes.c_double)]),
        "kiln_dump_weights": (ctypes.c_int, [ctypes.c_void_p, ctypes.c_char_p]),
        "kiln_transform_init": (None, [ctypes.POINTER(_Transform), ctypes.c_int, ctypes.c_int]),
        "kiln_load_image": (ctypes.c_int, [ctypes.c_char_p, ctypes.POINTER(_Transform), f32p]),
    }
    for name, (restype, argtypes) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes


def _fspath(path):
    return os.fsencode(os.fspath(path))


def load(path, device="auto", threads=0, weights=None, strict=True):
    """Opens the model library |path| (libNAME.so from `kiln compile --emit=lib`).

    device: "auto" (a GPU if there is a usable one, else the CPU), "cpu", "cuda",
    "cuda:1", "cuda:0,1" or "cuda:all" (several GPUs split each batch).
    threads: CPU threads (0: one per core). weights: a safetensors state_dict (default:
    the weights embedded at compile time, else seeded ones, with a warning). strict: the
    weights must match the model exactly (False: load what matches, like
    load_state_dict(strict=False)).
    """
    return Model(path, device=device, threads=threads, weights=weights, strict=strict)


class Model:
    """A session of a kiln model library. Call it on a float32 batch."""

    def __init__(self, path, device="auto", threads=0, weights=None, strict=True):
        self._session = None
        try:
            self._lib = ctypes.CDLL(os.fspath(path))
        except OSError as e:
            raise Error(2, f"cannot load '{os.fspath(path)}': {e}") from None
        try:
            _bind(self._lib)
        except AttributeError as e:
            raise Error(1, f"'{os.fspath(path)}' is not a kiln model library ({e})") from None
        version = self._lib.kiln_api_version()
        if version != API_VERSION:
            raise Error(1, f"'{os.fspath(path)}' has kiln API version {version}; this module "
                           f"speaks version {API_VERSION}")
        info = _ModelInfo()
        self._lib.kiln_model(ctypes.byref(info))
        self.name = info.name.decode()
        self.input_shape = tuple(info.input_shape[:info.input_rank])
        self.output_shape = tuple(info.output_shape[:info.output_rank])
        self.batch = self.input_shape[0] if self.input_shape else 1
        self.flexible_batch = bool(info.flexible_batch)
        self.imagenet_classes = bool(info.imagenet_classes)
        self._per_sample = bool(self.output_shape) and self.output_shape[0] == self.batch

        self._log = _LOG_FN(self._on_log)  # kept alive as long as the session
        options = _Options()
        self._lib.kiln_options_init(ctypes.byref(options))
        if not isinstance(device, str) or not device:
            raise ValueError(f"device must be a string such as 'cpu' or 'cuda:0', got {device!r}")
        options.device = device.encode()
        if not isinstance(threads, int) or threads < 0:
            raise ValueError(f"threads must be a non-negative integer, got {threads!r}")
        options.threads = threads
        options.weights = None if weights is None else _fspath(weights)
        options.strict = 1 if strict else 0
        options.log = self._log
        session = ctypes.c_void_p()
        self._check(self._lib.kiln_open(ctypes.byref(options), ctypes.byref(session)))
        self._session = session
        self.device = self._lib.kiln_device(self._session).decode()

    @staticmethod
    def _on_log(_user, message):
        text = message.decode(errors="replace")
        warnings.warn(f"kiln: {text}", stacklevel=2)

    def _check(self, status):
        if status != 0:
            raise Error(status, self._lib.kiln_last_error().decode(errors="replace"))

    def close(self):
        """Frees the session (also done when the object is collected)."""
        if self._session is not None:
            self._lib.kiln_close(self._session)
            self._session = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return (f"<kiln.Model {self.name}: input {list(self.input_shape)}, output "
                f"{list(self.output_shape)}, on {self.device}>")

    @property
    def on_gpu(self):
        return bool(self._lib.kiln_on_gpu(self._session))

    def _open(self):
        if self._session is None:
            raise Error(1, "the model was closed")

    def __call__(self, x):
        return self.run(x)

    def run(self, x, out=None):
        """Runs the model on |x|, a float32 array of the input's shape with any batch.

        Returns the output (batch first), or fills |out| (float32, C-contiguous, of the
        output's shape) and returns it.
        """
        self._open()
        if not isinstance(x, np.ndarray):
            raise TypeError(f"the input must be a numpy array, got {type(x).__name__}")
        if x.dtype != np.float32:
            raise TypeError(f"the input must be float32, got {x.dtype} (use x.astype(np.float32))")
        sample = self.input_shape[1:]
        if x.ndim != len(self.input_shape) or tuple(x.shape[1:]) != sample or x.shape[0] < 1:
            want = "[B, " + ", ".join(map(str, sample)) + "]" if sample else "[B]"
            raise ValueError(f"the input has shape {list(x.shape)}; this model takes {want} "
                             f"(B: any batch from 1, {self.batch} per pass)")
        batch = x.shape[0]
        if not self._per_sample and batch != self.batch:
            raise ValueError(f"this model's output {list(self.output_shape)} is not per "
                             f"sample: it takes batches of exactly {self.batch}")
        x = np.ascontiguousarray(x)
        shape = ((batch,) + self.output_shape[1:]) if self._per_sample else self.output_shape
        if out is None:
            out = np.empty(shape, np.float32)
        elif (not isinstance(out, np.ndarray) or out.dtype != np.float32 or
              tuple(out.shape) != shape or not out.flags.c_contiguous):
            raise ValueError(f"out must be a C-contiguous float32 array of shape {list(shape)}")
        f32p = ctypes.POINTER(ctypes.c_float)
        self._check(self._lib.kiln_run(self._session, x.ctypes.data_as(f32p), batch,
                                       out.ctypes.data_as(f32p)))
        return out

    def bench(self, runs=100, batch=None, warmup=None):
        """Times |runs| passes of |batch| samples (default: the compiled batch); returns the
        times in milliseconds (device time on one GPU)."""
        self._open()
        batch = self.batch if batch is None else batch
        warmup = min(max(runs // 10, 3), 100) if warmup is None else warmup
        times = (ctypes.c_double * runs)()
        self._check(self._lib.kiln_bench(self._session, batch, warmup, runs, times))
        return np.array(times[:], np.float64)

    def dump_weights(self, path):
        """Writes the weights the session runs with as a safetensors state_dict."""
        self._open()
        self._check(self._lib.kiln_dump_weights(self._session, _fspath(path)))

    def transform(self, resize=None, crop=None, mean=None, std=None):
        """The image transform of load_image and eval_folder: torchvision's Resize(resize)
        (an int: the short side; a pair: (h, w)), CenterCrop (the model's input size),
        ToTensor, Normalize(mean, std). Defaults: ImageNet's (resize = crop * 256 / 224)."""
        if len(self.input_shape) != 4 or self.input_shape[1] != 3:
            raise Error(1, f"images need a model with an N x 3 x H x W input; this one takes "
                           f"{list(self.input_shape)}")
        h, w = self.input_shape[2], self.input_shape[3]
        if crop is not None:
            ch, cw = (crop, crop) if isinstance(crop, int) else tuple(crop)
            if (ch, cw) != (h, w):
                raise ValueError(f"crop {ch}x{cw} does not fit the model, which takes {h}x{w} images")
        t = _Transform()
        self._lib.kiln_transform_init(ctypes.byref(t), h, w)
        if resize is not None:
            if isinstance(resize, int):
                t.resize_h, t.resize_w = resize, 0
            else:
                t.resize_h, t.resize_w = resize
        if mean is not None:
            t.mean[:] = [float(v) for v in mean]
        if std is not None:
            t.std[:] = [float(v) for v in std]
        return t

    def load_image(self, path, transform=None, out=None):
        """Decodes an image and applies the transform (default: ImageNet's), bit for bit as
        torchvision does; returns a float32 [3, H, W] array (or fills |out|)."""
        t = transform if transform is not None else self.transform()
        if out is None:
            out = np.empty((3, t.crop_h, t.crop_w), np.float32)
        self._check(self._lib.kiln_load_image(
            _fspath(path), ctypes.byref(t), out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))))
        return out

    def label(self, index):
        """ImageNet's name of class |index| for an ImageNet model, else None."""
        if not self.imagenet_classes:
            return None
        name = self._lib.kiln_imagenet_label(int(index))
        return None if name is None else name.decode()

    def eval_folder(self, directory, batch_size=None, decode_threads=None, transform=None,
                    report=None):
        """Evaluates an ImageFolder as the executables' --eval does: the classes are the
        subdirectories of |directory| sorted by name (index = position), the images the
        files under each with one of torchvision's extensions, in ImageFolder's order.
        Images are decoded on |decode_threads| threads while the model runs batches of
        |batch_size| (default: the compiled batch). Returns an EvalResult; |report| also
        writes its CSV (path, label, top-5), as --eval-report does."""
        classes, samples = image_folder(directory)
        batch = self.batch if batch_size is None else int(batch_size)
        if batch < 1:
            raise ValueError("batch_size must be at least 1")
        threads = decode_threads or min(max((os.cpu_count() or 2) // 2, 1), 8)
        t = transform if transform is not None else self.transform()
        outputs = int(np.prod(self.output_shape[1:])) if self._per_sample else None
        start = time.monotonic()
        predictions = []

        def decode(first):
            part = samples[first:first + batch]
            x = np.empty((len(part), 3, t.crop_h, t.crop_w), np.float32)
            for i, (path, _) in enumerate(part):
                self.load_image(path, t, x[i])
            return x

        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            # Up to three batches decode ahead of the model, each image list on one thread.
            starts = list(range(0, len(samples), batch))
            pending = [pool.submit(decode, s) for s in starts[:3]]
            for k, first in enumerate(starts):
                x = pending[k].result()
                if k + 3 < len(starts):
                    pending.append(pool.submit(decode, starts[k + 3]))
                y = self.run(x).reshape(len(x), outputs)
                top = np.argsort(-y, axis=1, kind="stable")[:, :5]
                for i, (path, label) in enumerate(samples[first:first + len(x)]):
                    predictions.append((path, label, tuple(int(c) for c in top[i])))
        result = EvalResult(classes, predictions, time.monotonic() - start)
        if report is not None:
            result.write_csv(report)
        return result


def image_folder(directory):
    """torchvision.datasets.ImageFolder(directory)'s classes and (path, label) samples."""
    directory = os.fspath(directory)
    classes = sorted(e.name for e in os.scandir(directory) if e.is_dir())
    if not classes:
        raise Error(2, f"'{directory}' has no class folders (ImageFolder reads "
                       f"DIR/<class>/<image>)")
    samples, empty = [], []
    for index, name in enumerate(classes):
        before = len(samples)
        for root, _, files in sorted(os.walk(os.path.join(directory, name), followlinks=True)):
            for f in sorted(files):
                if f.lower().endswith(IMAGE_EXTENSIONS):
                    samples.append((os.path.join(root, f), index))
        if len(samples) == before:
            empty.append(name)
    if empty:
        raise Error(2, f"no images for the classes {', '.join(empty)} in '{directory}'")
    odd = [p for p, _ in samples if not p.lower().endswith(DECODED_EXTENSIONS)]
    if odd:
        raise Error(2, f"{odd[0]}: ImageFolder would read it, but kiln decodes only JPEG, "
                       f"PNG, PPM and PGM (convert or remove it)")
    return classes, samples


class EvalResult:
    """What eval_folder found: top1 and top5 (fractions), correct1, correct5, total,
    classes, per_class (dicts: index, name, images, top1, top5), predictions ((path, label,
    top-5 class indices) per image, in ImageFolder's order) and seconds."""

    def __init__(self, classes, predictions, seconds):
        self.classes = classes
        self.predictions = predictions
        self.seconds = seconds
        self.total = len(predictions)
        count = [0] * len(classes)
        hit1 = [0] * len(classes)
        hit5 = [0] * len(classes)
        for _, label, top in predictions:
            count[label] += 1
            hit1[label] += top[0] == label
            hit5[label] += label in top
        self.correct1, self.correct5 = sum(hit1), sum(hit5)
        self.top1 = self.correct1 / self.total
        self.top5 = self.correct5 / self.total
        self.per_class = [
            {"index": i, "name": n, "images": count[i], "top1": hit1[i] / count[i],
             "top5": hit5[i] / count[i]} for i, n in enumerate(classes)]

    def __repr__(self):
        return (f"<kiln.EvalResult {self.total} images: top-1 {100 * self.top1:.2f}%, "
                f"top-5 {100 * self.top5:.2f}%>")

    def write_csv(self, path):
        """One row per image: path, label, top1..top5 (as --eval-report)."""
        import csv
        with open(path, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["path", "label", "top1", "top2", "top3", "top4", "top5"])
            for p, label, top in self.predictions:
                w.writerow([p, label] + list(top) + [""] * (5 - len(top)))
