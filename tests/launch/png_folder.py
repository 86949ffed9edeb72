"""Writes a folder of COUNT noise PNGs of SIZE x SIZE x 3 (PNG written with zlib, no imaging
library): the input of the streaming tests and bench/data_bench.sh. 64 distinct images are
encoded and repeated; the decoder's work is the same for each file.

Usage: png_folder.py DIR COUNT SIZE
"""
import os
import struct
import sys
import zlib


def png(width, height, pixels):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    stride = width * 3
    raw = b"".join(b"\x00" + pixels[y * stride:(y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 1))
            + chunk(b"IEND", b""))


def main():
    out, count, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    os.makedirs(out, exist_ok=True)
    distinct = [png(size, size, os.urandom(size * size * 3)) for _ in range(min(64, count))]
    for i in range(count):
        with open(os.path.join(out, f"img{i:08d}.png"), "wb") as f:
            f.write(distinct[i % len(distinct)])


if __name__ == "__main__":
    main()
