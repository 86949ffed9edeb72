"""Checks the records of an evaluation with eval.seed_sets = K (eval_test.sh, section 1d).

  check_seed_sets.py EVAL_DIR K N

Seed set k's samples (EVAL_DIR/ckpt-*/samples, samples-set1, ...) carry the sample indices
k*N .. (k+1)*N - 1 (disjoint); results.jsonl has one fid/is/kid record per set and a summary
whose value is their mean and whose spread is their standard deviation (n - 1), and fid_min,
kid_min and is_max with the best of them. The standard library only: .npz is a zip of .npy.
"""
import ast
import glob
import json
import math
import os
import struct
import sys
import zipfile


def npy_int64(data):
    assert data[:6] == b"\x93NUMPY", "not an .npy array"
    major = data[6]
    if major == 1:
        (length,) = struct.unpack("<H", data[8:10])
        start = 10
    else:
        (length,) = struct.unpack("<I", data[8:12])
        start = 12
    header = ast.literal_eval(data[start:start + length].decode("latin1"))
    assert header["descr"] == "<i8", header
    body = data[start + length:]
    count = len(body) // 8
    return list(struct.unpack("<%dq" % count, body))


def indices_of(directory):
    out = []
    for path in sorted(glob.glob(os.path.join(directory, "round-*.npz"))):
        with zipfile.ZipFile(path) as z:
            out += npy_int64(z.read("indices.npy"))
    return out


def main():
    eval_dir, sets, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    failures = []
    ckpt = sorted(glob.glob(os.path.join(eval_dir, "ckpt-*")))[-1]
    seen = set()
    for k in range(sets):
        name = "samples" if k == 0 else "samples-set%d" % k
        got = indices_of(os.path.join(ckpt, name))
        want = list(range(k * n, (k + 1) * n))
        print("[evidence] seed set %d (%s): sample indices %s" % (k, name, got))
        if got != want:
            failures.append("set %d has indices %s, expected %s" % (k, got, want))
        if seen & set(got):
            failures.append("set %d overlaps an earlier set" % k)
        seen |= set(got)
    with open(os.path.join(eval_dir, "results.jsonl")) as f:
        records = [json.loads(line) for line in f if line.strip()]
    for metric in ("fid", "is", "kid"):
        best_name = "is_max" if metric == "is" else metric + "_min"
        best = max if metric == "is" else min
        per_set = {}
        summary = minimum = None
        for r in records:
            if r["metric"] == metric and "seed_set" in r.get("details", {}):
                per_set[int(r.get("details", {})["seed_set"])] = r["value"]
            elif r["metric"] == metric and r.get("details", {}).get("seed_sets") == str(sets):
                summary = r
            elif r["metric"] == best_name and r.get("details", {}).get("seed_sets") == str(sets):
                minimum = r
        if sorted(per_set) != list(range(sets)) or summary is None or minimum is None:
            failures.append("%s: sets %s, summary %s, min %s" % (metric, sorted(per_set),
                                                                 summary is not None,
                                                                 minimum is not None))
            continue
        v = [per_set[k] for k in range(sets)]
        mean = sum(v) / sets
        std = math.sqrt(sum((x - mean) ** 2 for x in v) / (sets - 1))
        print("[evidence] %s per set %s: mean %.6g (recorded %.6g), std %.6g (recorded %.6g), "
              "%s %.6g (recorded %.6g)" % (metric, ["%.6g" % x for x in v], mean,
                                           summary["value"], std, summary["spread"], best_name,
                                           best(v), minimum["value"]))
        close = lambda a, b: abs(a - b) <= 1e-5 * max(1.0, abs(a))
        if not (close(mean, summary["value"]) and close(std, summary["spread"])
                and close(best(v), minimum["value"])):
            failures.append("%s: the summary does not match its sets" % metric)
        if summary["count"] != sets * n:
            failures.append("%s: summary count %s, expected %d" % (metric, summary["count"],
                                                                   sets * n))
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
