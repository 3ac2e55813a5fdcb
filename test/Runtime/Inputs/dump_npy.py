"""Prints a float32 .npy file: its header dict, then one value per line (stdlib only).

    dump_npy.py FILE

Checks what numpy checks: the magic, a 1.0 header padded to a multiple of 64 bytes that
ends in a newline, and a data size matching the shape.
"""
import ast
import struct
import sys

data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x93NUMPY\x01\x00", data[:8]
(hlen,) = struct.unpack("<H", data[8:10])
assert (10 + hlen) % 64 == 0 and data[10 + hlen - 1:10 + hlen] == b"\n", hlen
header = data[10:10 + hlen].decode("latin1")
d = ast.literal_eval(header)
count = 1
for n in d["shape"]:
    count *= n
assert len(data) == 10 + hlen + 4 * count, (len(data), count)
print(header.rstrip())
for v in struct.unpack("<%df" % count, data[10 + hlen:]):
    print("%.9g" % v)
