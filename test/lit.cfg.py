# lit configuration of kiln's test suite.
#
# Substitutions:
#   kiln, kiln-opt,    the tools of this build (also kiln-inspect,
#   kiln-translate     kiln-kernel-test, kiln-cuda-kernel-test and
#                      kiln-emu-test, the runtime's test drivers)
#   FileCheck, not     from LLVM 19
#   %models            the models/ directory of the source tree
#   %python            the Python 3 that runs the helper scripts (stdlib + numpy)
#   %tools             the tools/ directory (seeded_weights.py, compare_npy.py)
#   %cc                the C compiler of this build (programs using kiln.h)
#   %kiln_include      runtime/include (kiln.h)
#   %pymodule          python/ (the kiln module, for PYTHONPATH)
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "kiln"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".yaml", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.kiln_obj_root, "test")
# Data and helpers next to the tests are not tests themselves.
config.excludes = ["Inputs", "golden", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]

llvm_config.with_system_environment(["HOME", "TMPDIR"])
# `not` and `count` at the start of a RUN line come from PATH.
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.use_default_substitutions()
llvm_config.add_tool_substitutions(
    ["kiln", "kiln-opt", "kiln-translate", "kiln-inspect", "kiln-kernel-test",
     "kiln-cuda-kernel-test", "kiln-emu-test", "kiln-hopper-test"], [config.kiln_tools_dir])

config.substitutions.append(("%models", os.path.join(config.kiln_src_root, "models")))
# Before LLVM's own %python (the interpreter running lit), which lacks numpy.
config.substitutions.insert(0, ("%python", config.python_executable))
config.substitutions.append(("%tools", os.path.join(config.kiln_src_root, "tools")))
config.substitutions.append(("%cc", getattr(config, "kiln_cc", "") or "cc"))
config.substitutions.append(("%kiln_include", os.path.join(config.kiln_src_root, "runtime", "include")))
config.substitutions.append(("%pymodule", os.path.join(config.kiln_src_root, "python")))

# Emulated CPUs (Debian's qemu-user, installed by setup.sh): x86-64 without
# AVX-512 or without AVX, and AArch64 ("REQUIRES: qemu-x86_64" /
# "REQUIRES: qemu-aarch64"; the latter also needs the AArch64 runtime).
import platform
import shutil
if platform.machine() in ("x86_64", "AMD64"):
    config.available_features.add("x86_64")
if shutil.which("qemu-x86_64"):
    config.available_features.add("qemu-x86_64")
if shutil.which("qemu-aarch64") and getattr(config, "kiln_aarch64_runtime", ""):
    config.available_features.add("qemu-aarch64")
    # The AArch64 build's tools (kiln-kernel-test), static executables.
    config.substitutions.append(
        ("%aarch64_bin", os.path.join(os.path.dirname(config.kiln_aarch64_runtime), "bin")))

# A sanitized build (KILN_SANITIZE, `ninja check-sanitized`): every tool and
# executable reports the first error and dies with SIGABRT, which `not` counts
# as a failure (ASan's default exit code 1 would pass it). A failed allocation
# returns null (so std::bad_alloc) as without ASan. ASan reserves terabytes
# of address space, so an address-space limit cannot apply: `%ulimit_v N`
# (a guard against runaway memory use, the 60 s timeout being the other) is
# `ulimit -v N` but does nothing there, and tests of what a limit does are
# "UNSUPPORTED: asan".
sanitized = getattr(config, "kiln_sanitize", "OFF").upper() in ("ON", "1", "TRUE", "YES")
if sanitized:
    config.available_features.add("asan")
    # allow_user_poisoning=0: LLVM's BumpPtrAllocator poisons its slabs when
    # compiled with ASan, as kiln's inline copies are, and Debian's
    # uninstrumented libMLIR.so then writes to them without unpoisoning.
    config.environment["ASAN_OPTIONS"] = (
        "abort_on_error=1:allocator_may_return_null=1:allow_user_poisoning=0")
    config.environment["UBSAN_OPTIONS"] = "abort_on_error=1:print_stacktrace=1"
config.substitutions.append(("%ulimit_v", "true" if sanitized else "ulimit -v"))

# --video: the runtime was built with FFmpeg's headers, and Debian's ffmpeg
# (setup.sh installs both) makes the test clips ("REQUIRES: ffmpeg").
if getattr(config, "kiln_have_ffmpeg", "OFF").upper() in ("ON", "1", "TRUE", "YES") and \
        shutil.which("ffmpeg"):
    config.available_features.add("ffmpeg")
# The runtime instrumented with ThreadSanitizer (lib/tsan; not in sanitized
# builds): kiln compile --sanitize=thread ("REQUIRES: tsan").
if getattr(config, "kiln_tsan_runtime", "OFF").upper() in ("ON", "1", "TRUE", "YES"):
    config.available_features.add("tsan")

# The CUDA target's nvcc builds and PTX need the toolkit this kiln was built
# with ("REQUIRES: nvcc"); the emulator tests need nothing.
if getattr(config, "kiln_nvcc", "") and os.access(config.kiln_nvcc, os.X_OK):
    config.available_features.add("nvcc")

# ONNX test models written as protobuf text (test/Frontend/Onnx): `%onnx-encode`
# turns one into a binary ModelProto with protoc and the onnx.proto of
# libonnx-dev (both installed by setup.sh).
config.substitutions.append(
    ("%onnx-encode", "protoc --encode=onnx.ModelProto -I/usr/include "
                     "/usr/include/onnx/onnx.proto"))
