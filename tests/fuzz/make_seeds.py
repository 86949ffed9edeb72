#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (corpus/<target>/) from real NumPy and PyTorch files:
small, but made by the same writers as users' files; and, into regressions/<target>/, the
hand-made inputs of the faults a review of the readers found (each fixed; fuzz_replay keeps
them fixed). Run with PyTorch and NumPy importable:
    PYTHONPATH=$SGM_PYTHONPATH python3 tests/fuzz/make_seeds.py [--sgm-bin DIR] [SCORE_SDE_PTH]
--sgm-bin DIR (optional): sgm's executables (build/launch), which make a tiny run whose
state.json and results.jsonl join the corpora. SCORE_SDE_PTH (optional): a checkpoint of
score_sde_pytorch whose data.pkl joins the pickle corpus (its storages are not copied)."""
import collections
import functools
import glob
import io
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
args = sys.argv[1:]
sgm_bin = None
if args[:1] == ["--sgm-bin"]:
    sgm_bin, args = os.path.abspath(args[1]), args[2:]


def out(target, name, data, kind="corpus"):
    d = os.path.join(here, kind, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def npy(array):
    b = io.BytesIO()
    np.save(b, array)
    return b.getvalue()


def npz(compressed, **arrays):
    b = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(b, **arrays)
    return b.getvalue()


rng = np.random.default_rng(0)
images = rng.integers(0, 256, size=(3, 4, 4, 3), dtype=np.uint8)
out("numpy", "images_u8.npy", npy(images))
out("numpy", "gray_u8.npy", npy(images[..., 0]))
out("numpy", "features_f8.npy", npy(rng.standard_normal((2, 5))))
out("numpy", "stats.npz", npz(False, mu=rng.standard_normal(4), sigma=np.eye(4)))
out("numpy", "labelled.npz", npz(True, images=images, labels=np.array([0, 2, 1], np.int64)))
out("numpy", "scalars.npz", npz(False, x=np.array(3.5, np.float32), b=np.array([True, False])))


def score_sde_layout():
    """The dict score_sde's save_checkpoint writes, with two tiny parameters."""
    w = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    b = torch.tensor([0.5, -1.0])
    model = collections.OrderedDict([("module.w", w), ("module.b", b), ("module.sigmas",
                                                                           torch.ones(3))])
    params = [torch.nn.Parameter(w.clone()), torch.nn.Parameter(b.clone())]
    opt = torch.optim.Adam(params, lr=np.float64(2e-4))
    (params[0].sum() + params[1].sum()).backward()
    opt.step()
    return {"optimizer": opt.state_dict(), "model": model,
            "ema": {"decay": 0.999, "num_updates": 7,
                    "shadow_params": [p.detach().clone() for p in params]},
            "step": 7}


def saved(obj):
    b = io.BytesIO()
    torch.save(obj, b)
    return b.getvalue()


def pickle_of(pth_bytes):
    with zipfile.ZipFile(io.BytesIO(pth_bytes)) as z:
        name = next(n for n in z.namelist() if n.endswith("data.pkl"))
        return z.read(name)


full = saved(score_sde_layout())
out("pth", "score_sde_tiny.pth", full)
no_opt = score_sde_layout()
del no_opt["optimizer"]
out("pth", "score_sde_no_optimizer.pth", saved(no_opt))
view = score_sde_layout()
view["model"]["module.view"] = torch.arange(12.0).reshape(3, 4)[1:, ::2]  # offset and strides
view["model"]["module.empty"] = torch.empty(0)  # no elements, stride 1 over an empty storage
out("pth", "score_sde_view.pth", saved(view))
out("pickle", "score_sde_tiny.pkl", pickle_of(full))
out("pickle", "score_sde_view.pkl", pickle_of(saved(view)))
if args:
    with open(args[0], "rb") as f:
        out("pickle", os.path.basename(args[0]) + ".pkl", pickle_of(f.read()))


# --- regressions: the review's findings, one input each --------------------------------------
def regression(target, name, data):
    out(target, name, data, "regressions")


def npy_with_header(header, data=b"", version=1):
    text = header.encode("latin1")
    if version == 1:
        return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + data
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<I", len(text)) + text + data


# A shape whose product is far beyond the file: allocated before the size check (bad_alloc).
HEAD = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }\n"
regression("numpy", "shape_of_terabytes.npy",
           npy_with_header(HEAD % ("|u1", "100000000000, 100000"), b"\0" * 16))
# Shape entries that are not sizes: std::stoll threw std::invalid_argument / out_of_range.
regression("numpy", "shape_not_a_number.npy", npy_with_header(HEAD % ("|u1", "3, x"), b"\0" * 16))
regression("numpy", "shape_too_long.npy",
           npy_with_header(HEAD % ("|u1", "99999999999999999999999, ")))
# A negative extent: at::empty threw c10::Error.
regression("numpy", "shape_negative.npy", npy_with_header(HEAD % ("<f4", "-5, 2")))
# Version 2 with the header length cut off: std::out_of_range from the byte reader.
regression("numpy", "version2_cut.npy", b"\x93NUMPY\x02\x00\x10\x00")
# A header length past the end of the file (a boundary, rejected before the review too).
regression("numpy", "header_past_end.npy", b"\x93NUMPY\x01\x00\xff\xff{'descr'")
# A deflated .npz member stating 2^40 bytes (ZIP64): allocated before inflating.
name = b"a.npy"
zip64 = struct.pack("<HHQQ", 1, 16, 1 << 40, 4)
local = (struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 8, 0, 0, 0, 0xFFFFFFFF, 0xFFFFFFFF,
                     len(name), len(zip64)) + name + zip64 + b"\x03\x00\x00\x00")
regression("numpy", "deflate_states_a_terabyte.npz", local)


class Storage:
    def __init__(self, numel, key="0", kind=torch.FloatStorage):
        self.numel, self.key, self.kind = numel, key, kind


class FakeTensor:
    """Pickles as torch.save writes a tensor: _rebuild_tensor_v2(storage, offset, size, stride)."""

    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class CheckpointPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", obj.kind, obj.key, "cpu", obj.numel)
        return None


def checkpoint_pickle(model, optimizer=None):
    content = {"model": collections.OrderedDict(model), "step": 1,
               "ema": {"decay": 0.999, "num_updates": 1, "shadow_params": []}}
    if optimizer is not None:
        content["optimizer"] = optimizer
    b = io.BytesIO()
    CheckpointPickler(b, protocol=2).dump(content)
    return b.getvalue()


# The pickle target's records hold what the pickle states (zeros), so these reach the checks.
# A view past the end of its storage: as_strided threw c10::Error.
regression("pickle", "view_outside_storage.pkl",
           checkpoint_pickle({"w": FakeTensor(Storage(6), 2, [3, 4], [4, 1])}))
# Broadcast strides: a view of 10^12 elements cloned from a storage of 4.
regression("pickle", "view_larger_than_storage.pkl",
           checkpoint_pickle({"w": FakeTensor(Storage(4), 0, [1000000, 1000000], [0, 0])}))
# A storage of 10^15 elements: allocated before its record's size was known.
regression("pickle", "storage_of_petabytes.pkl",
           checkpoint_pickle({"w": FakeTensor(Storage(10**15), 0, [4], [1])}))
# Negative sizes and offsets.
regression("pickle", "negative_size.pkl",
           checkpoint_pickle({"w": FakeTensor(Storage(6), 0, [-2, 3], [3, 1])}))
# Adam's step count as a float far outside int64 (an undefined conversion).
moment = FakeTensor(Storage(2), 0, [2], [1])
regression("pickle", "huge_float_count.pkl", checkpoint_pickle(
    {}, {"state": {0: {"step": 1e300, "exp_avg": moment, "exp_avg_sq": moment}},
         "param_groups": [{"params": [0]}]}))
# 200,000 nested lists: freeing them recursed once per level (stack overflow).
n = 200000
regression("pickle", "nested_lists.pkl", b"\x80\x02" + b"]" * n + b"a" * (n - 1) + b".")
# 200,000 items after one MARK: moved to the front one at a time (quadratic, minutes).
regression("pickle", "long_tuple.pkl", b"\x80\x02(" + b"N" * 200000 + b"t.")
# A list appended to itself through the memo (a reference cycle: leaked).
regression("pickle", "list_in_itself.pkl", b"\x80\x02]q\x00h\x00a.")
# LONG1 of 9 bytes: shifted a 64-bit value by 64 (undefined).
regression("pickle", "long1_of_nine_bytes.pkl", b"\x80\x02\x8a\x09" + b"\x01" * 9 + b".")
# An opcode cut off, an unknown opcode, a stack underflow, a memo miss.
regression("pickle", "truncated.pkl", b"\x80\x02X\xff\xff\x00\x00ab")
regression("pickle", "unknown_opcode.pkl", b"\x80\x02\xfe.")
regression("pickle", "underflow.pkl", b"\x80\x02a.")
regression("pickle", "memo_miss.pkl", b"\x80\x02h\x07.")

# --- configs, sgm's own JSON files, EDM's dataset.json, images -------------------------------
repo = os.path.dirname(os.path.dirname(here))
for name in ("mlp_toy2d_ve.cfg", "ncsnpp_ve_16px.cfg", "quickstart_ve_16px.cfg"):
    with open(os.path.join(repo, "configs", "small", name), "rb") as f:
        out("config", name, f.read())
out("edm_labels", "labels.json",
    json.dumps({"labels": [[f"{i // 1000:05d}/img{i:08d}.png", i % 10] for i in range(12)]})
    .encode())
out("edm_labels", "no_labels.json", b'{"labels": null}')


def png_file(width, height, colour, depth, idat):
    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) +
            chunk(b"IEND", b""))


def png(width, height, colour, pixels, depth=8):
    """A PNG with zlib (no imaging library): colour type 0 (grey), 2 (RGB), 4 (grey + alpha),
    6 (RGBA); filter 0 on every row."""
    stride = len(pixels) // height
    raw = b"".join(b"\x00" + pixels[y * stride:(y + 1) * stride] for y in range(height))
    return png_file(width, height, colour, depth, zlib.compress(raw))


pixels = rng.integers(0, 256, size=(20, 24, 4), dtype=np.uint8)
out("image", "rgb_24x20.png", png(24, 20, 2, pixels[..., :3].tobytes()))
out("image", "grey_24x20.png", png(24, 20, 0, pixels[..., 0].tobytes()))
out("image", "rgba_24x20.png", png(24, 20, 6, pixels.tobytes()))
out("image", "grey16_8x8.png", png(8, 8, 0, pixels[:8, :8, :2].tobytes(), depth=16))
# JPEGs from cjpeg (Debian: libjpeg-turbo-progs) when present: baseline, progressive, grey.
if shutil.which("cjpeg"):
    ppm = b"P6 24 20 255\n" + pixels[..., :3].tobytes()
    pgm = b"P5 24 20 255\n" + pixels[..., 0].tobytes()
    for name, source, flags in (("baseline.jpg", ppm, []),
                                ("progressive.jpg", ppm, ["-progressive"]),
                                ("grey.jpg", pgm, ["-grayscale"])):
        out("image", name, subprocess.run(["cjpeg", "-quality", "80"] + flags, input=source,
                                          stdout=subprocess.PIPE, check=True).stdout)

# Regressions of these readers.
# A decompression bomb: 9,000 x 9,000 grey pixels, all zero, deflated to 80 KB. Decoded as RGB
# and copied it took 650 MB (any larger image more); the header's size is now refused first.
side = 9000
regression("image", "png_bomb_9000x9000.png",
           png_file(side, side, 0, 8, zlib.compress(bytes(side * (side + 1)), 9)))
# Integers given as floats far outside int64 (an undefined conversion), and negative ones.
regression("state_json", "step_huge_float.json", json.dumps({
    "format": "sgm-checkpoint", "version": 1, "step": 1e300, "images_seen": 0, "data_cursor": 0,
    "seed": 0, "ema_updates": 0, "adam_steps": 0, "nonfinite_skips": 0, "world_size": 1,
    "config": ""}).encode())
regression("results", "step_huge_float.jsonl",
           b'{"step": 1e300, "metric": "fid", "value": 1.5, "config": "x"}\n')
regression("edm_labels", "label_huge_float.json", b'{"labels": [["a.png", 1e300]]}')
regression("edm_labels", "label_negative.json", b'{"labels": [["a.png", -1]]}')
# A value the validation refuses: its message named the key but not the file.
regression("config", "sigma_max_below_sigma_min.cfg", b"[model]\nsigma_max = 0.001\n")
# A key with NUL bytes, printed raw: the message ended at the first NUL, before the file's name
# (found by the fuzzer).
regression("config", "key_with_nul.cfg", b"[training]\nsnapshot_freq\x00\x00x = 1\n")

# A checkpoint's state.json and an evaluation's results.jsonl, from a real run of sgm when its
# executables are given (--sgm-bin DIR: sgm-data, sgm-train and sgm-eval): two steps of the 2-D
# toy, then its loss evaluated by a sweep.
if sgm_bin:
    with tempfile.TemporaryDirectory() as tmp:
        run = functools.partial(subprocess.run, check=True, stdout=subprocess.DEVNULL)
        run([os.path.join(sgm_bin, "sgm-data"), "make", "--from", "toy", "--num", "64",
             "--out", tmp + "/data"])
        run([os.path.join(sgm_bin, "sgm-train"), "--config",
             os.path.join(repo, "configs", "small", "mlp_toy2d_ve.cfg"), "--workdir", tmp + "/run",
             "--data.path=" + tmp + "/data", "--training.n_iters=2", "--training.batch_size=8",
             "--training.snapshot_freq=2"])
        run([os.path.join(sgm_bin, "sgm-eval"), "sweep", "--workdir", tmp + "/run",
             "--eval.enable_loss=true", "--eval.data_path=" + tmp + "/data",
             "--eval.begin_ckpt=1", "--eval.end_ckpt=1"])
        # HDF5: a shard of 2-D points (float32), one of labelled 8 x 8 images (uint8), and the
        # weights.h5 of a two-step run of a 4-wide MLP (model, EMA, Adam moments).
        run([os.path.join(sgm_bin, "sgm-data"), "make", "--from", "toy", "--num", "4",
             "--out", tmp + "/points"])
        run([os.path.join(sgm_bin, "sgm-data"), "make", "--from", "shapes", "--num", "3",
             "--resolution", "8", "--out", tmp + "/shapes"])
        run([os.path.join(sgm_bin, "sgm-train"), "--config",
             os.path.join(repo, "configs", "small", "mlp_toy2d_ve.cfg"), "--workdir", tmp + "/tiny",
             "--data.path=" + tmp + "/data", "--training.n_iters=2", "--training.batch_size=8",
             "--model.nf=1", "--model.num_res_blocks=1"])
        for target, path, name in (
                ("state_json", "/run/checkpoints/snapshot-*/state.json", "toy2d_state.json"),
                ("results", "/run/eval/results.jsonl", "toy2d_results.jsonl"),
                ("shard", "/points/*-00000-of-*.h5", "points.h5"),
                ("shard", "/shapes/*-00000-of-*.h5", "shapes_8px.h5"),
                ("weights", "/tiny/checkpoints/snapshot-*/weights.h5", "mlp_tiny.h5")):
            with open(glob.glob(tmp + path)[0], "rb") as f:
                data = f.read()
            # The text files name the temporary directory; HDF5 files are kept byte for byte.
            if not name.endswith(".h5"):
                data = data.replace(tmp.encode(), b"/tmp/example")
            out(target, name, data)
print("seed corpora and regression inputs written under", here)
