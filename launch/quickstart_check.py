"""How many images of the quickstart show one clearly visible shape.

The quickstart's data are bright shapes (every channel >= 0.4) on dark backgrounds (every
channel <= 0.35). An image passes when its foreground (pixels whose brightest channel is above
0.375) is one 4-connected blob of at least 6 pixels that holds at least 90 % of the foreground,
and covers at most half the image: a faint, scattered, doubled or washed-out shape fails, as
do noise and blank images. Every data image passes.

Usage: quickstart_check.py NAME SOURCE [NAME SOURCE ...]
  SOURCE: a directory of round-*.npz (sgm-eval samples: array `samples`), a dataset directory
  of *.h5 shards (array `images`), or `noise` / `blank` (64 images, the check's own test).
Prints one line per source: "NAME: k/n (p %) show one shape".
"""
import glob
import os
import sys

import numpy as np

THRESHOLD = 0.375


def one_shape(image):
    fg = image.max(axis=2) / 255.0 > THRESHOLD
    total = int(fg.sum())
    h, w = fg.shape
    if total < 6 or total > h * w // 2:
        return False
    seen = np.zeros_like(fg)
    largest = 0
    for y0, x0 in zip(*np.nonzero(fg)):
        if seen[y0, x0]:
            continue
        seen[y0, x0] = True
        stack, size = [(y0, x0)], 0
        while stack:
            y, x = stack.pop()
            size += 1
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < h and 0 <= nx < w and fg[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
        largest = max(largest, size)
    return largest >= 6 and largest >= 0.9 * total


def images_of(source):
    rng = np.random.default_rng(0)
    if source == "noise":
        return rng.integers(0, 256, (64, 16, 16, 3), dtype=np.uint8)
    if source == "blank":
        return np.concatenate([np.zeros((32, 16, 16, 3), np.uint8),
                               np.full((32, 16, 16, 3), 128, np.uint8)])
    rounds = sorted(glob.glob(os.path.join(source, "round-*.npz")))
    if rounds:
        return np.concatenate([np.load(r)["samples"] for r in rounds])
    import h5py
    shards = sorted(glob.glob(os.path.join(source, "*.h5")))
    if not shards:
        sys.exit(f"quickstart_check: error: {source}: no round-*.npz and no *.h5 shards")
    return np.concatenate([h5py.File(s, "r")["images"][...] for s in shards])


def main(args):
    if len(args) < 2 or len(args) % 2:
        sys.exit(__doc__)
    for name, source in zip(args[::2], args[1::2]):
        images = images_of(source)
        passed = sum(one_shape(im) for im in images)
        print(f"{name}: {passed}/{len(images)} ({100.0 * passed / len(images):.1f} %) show one shape")


if __name__ == "__main__":
    main(sys.argv[1:])
