#!/usr/bin/python3
"""Generator of runtime/src/imagenet_labels.cpp, the 1000 ImageNet class names.

The names are torchvision's (`torchvision.models._meta._IMAGENET_CATEGORIES`, the list the
weights enums attach as `meta["categories"]`), in class-index order, so kiln's top-k matches
what torchvision prints. Regenerate (needs torchvision; on Debian use the system python):

    /usr/bin/python3 tools/gen_imagenet_labels.py runtime/src/imagenet_labels.cpp
"""
import argparse
import sys

HEADER = """\
//===- imagenet_labels.cpp - ImageNet class names -------------------------===//
//
// GENERATED FILE, do not edit: regenerate with
//   /usr/bin/python3 tools/gen_imagenet_labels.py runtime/src/imagenet_labels.cpp
// from torchvision {version}'s torchvision.models._meta._IMAGENET_CATEGORIES.
//
// This file defines kImageNetLabels (kiln/image.h): the 1000 ImageNet-1k
// class names in class-index order.
//
//===----------------------------------------------------------------------===//

#include "kiln/image.h"

namespace kiln::rt {{

const char *const kImageNetLabels[1000] = {{
"""

FOOTER = """\
};

} // namespace kiln::rt
"""


def c_string(s):
    """A C string literal of |s| (ASCII; quotes, backslashes and others escaped)."""
    out = []
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.extend("\\x%02x" % b for b in ch.encode("utf-8"))
    return '"' + "".join(out) + '"'


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="the .cpp file to write ('-' for stdout)")
    args = parser.parse_args()

    import torchvision
    from torchvision.models._meta import _IMAGENET_CATEGORIES as labels

    if len(labels) != 1000:
        sys.exit(f"expected 1000 ImageNet categories, torchvision has {len(labels)}")
    text = HEADER.format(version=torchvision.__version__.split("+")[0])
    text += "".join(f"    {c_string(name)}, // {i}\n" for i, name in enumerate(labels))
    text += FOOTER
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
