#!/usr/bin/env python3
"""Converts pytorch-fid's FID Inception weights to the HDF5 file sgm-eval reads.

    python3 eval/tools/inception_weights_to_h5.py pt_inception-2015-12-05-6726825d.pth inception.h5

The input is the file pytorch-fid downloads (FID_WEIGHTS_URL in its inception.py; torch.hub
keeps it under ~/.cache/torch/hub/checkpoints/). Its SHA-256 must start with 6726825d, the
prefix in its name; anything else is refused. The output holds every state_dict entry as
weights/<torchvision name> (float32; num_batches_tracked as int64, added as 0 when absent) and
the root attribute source_sha256 (the input's full SHA-256), which sgm-eval checks.
Needs Python with torch and h5py (a pytorch-fid environment has torch; pip install h5py).
Run it once; sgm-eval never touches the network or the .pth itself.
"""
import argparse
import hashlib
import os
import sys

EXPECTED_PREFIX = "6726825d"


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pth", help="pt_inception-2015-12-05-6726825d.pth")
    parser.add_argument("out", help="output .h5 (eval.inception_weights)")
    args = parser.parse_args()
    if not os.path.isfile(args.pth):
        sys.exit(f"inception_weights_to_h5: {args.pth}: no such file")
    sha = sha256_of(args.pth)
    if not sha.startswith(EXPECTED_PREFIX):
        sys.exit(f"inception_weights_to_h5: {args.pth}: SHA-256 {sha[:16]}... does not start "
                 f"with {EXPECTED_PREFIX} (not pytorch-fid's FID Inception weights)")
    try:
        import h5py
        import torch
    except ImportError as e:
        sys.exit(f"inception_weights_to_h5: needs torch and h5py ({e})")
    state = torch.load(args.pth, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or "fc.weight" not in state:
        sys.exit(f"inception_weights_to_h5: {args.pth}: not an Inception-v3 state_dict")
    for key in list(state):  # older saves lack the BatchNorm step counters
        if key.endswith(".bn.running_mean"):
            counter = key[: -len("running_mean")] + "num_batches_tracked"
            state.setdefault(counter, torch.zeros((), dtype=torch.int64))
    tmp = args.out + ".tmp"
    with h5py.File(tmp, "w") as f:
        f.attrs["source_sha256"] = sha
        for name, tensor in sorted(state.items()):
            t = tensor.detach().cpu()
            array = t.to(torch.int64 if name.endswith("num_batches_tracked") else torch.float32)
            f.create_dataset("weights/" + name, data=array.numpy())
    os.replace(tmp, args.out)
    print(f"{args.out}: {len(state)} arrays from {args.pth} (sha256 {sha[:16]}...)")


if __name__ == "__main__":
    main()
