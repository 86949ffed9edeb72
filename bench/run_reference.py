#!/usr/bin/env python3
"""Runs the reference's training-step benchmark (score_sde_pytorch's own step function, timed by
ref_bench_train.py) under a stated numerics policy, and optionally counts its FLOPs.

  run_reference.py [--numerics strict|default|tf32] [--count-flops | --usage] -- REF_BENCH REF_DIR CONFIG ...

--numerics sets PyTorch's two TF32 switches before the reference runs:
  strict   cuBLAS and cuDNN in full fp32 (what sgm's training.tf32 = false does)
  default  PyTorch's own defaults, left as they are (cuBLAS fp32, cuDNN TF32): what a user of the
           reference gets without changing anything
  tf32     both TF32 (what sgm's training.tf32 = true does)
--count-flops runs the benchmark under torch.utils.flop_counter.FlopCounterMode and prints one
JSON line after the reference's own line: the FLOPs of everything the script ran (loss forward
and backward; Adam and the EMA are element-wise), total and by operator, divided by the steps it
ran (warm-up included) and the batch. FlopCounterMode counts
matrix products, convolutions and attention (forward and backward; a multiply-add is 2 FLOPs),
not element-wise work: the usual basis of MFU. Run it with --steps 1 --warmup 0.
--usage prints one JSON line after the reference's own line: the minor page faults and the kernel
CPU time (getrusage) per timed step, medians over the steps after the warm-up. REF_BENCH times
each step between two calls of time.perf_counter; --usage reads getrusage at those same calls.
The arguments after -- go to REF_BENCH unchanged.
"""
import argparse
import json
import runpy
import sys

import torch


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--numerics", choices=["strict", "default", "tf32"], default="default")
    ap.add_argument("--count-flops", action="store_true")
    ap.add_argument("--usage", action="store_true")
    ap.add_argument("rest", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    rest = a.rest[1:] if a.rest[:1] == ["--"] else a.rest
    if not rest:
        ap.error("give REF_BENCH and its arguments after --")
    if a.numerics != "default":
        tf32 = a.numerics == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
    print(f"numerics {a.numerics}: cuBLAS TF32 {torch.backends.cuda.matmul.allow_tf32}, "
          f"cuDNN TF32 {torch.backends.cudnn.allow_tf32}", flush=True)
    sys.argv = rest
    sub = argparse.ArgumentParser(add_help=False)
    sub.add_argument("--batch", type=int, default=8)
    sub.add_argument("--steps", type=int, default=5)
    sub.add_argument("--warmup", type=int, default=2)
    known, _ = sub.parse_known_args(rest[1:])
    if a.usage:
        run_with_usage(rest[0], known.warmup)
        return
    if not a.count_flops:
        runpy.run_path(rest[0], run_name="__main__")
        return
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter:
        runpy.run_path(rest[0], run_name="__main__")
    images = known.batch * (known.steps + known.warmup)
    by_op = {}
    for module, ops in counter.get_flop_counts().items():
        if module != "Global":
            continue
        for op, flops in ops.items():
            by_op[str(op).split(".")[-1] if "." in str(op) else str(op)] = flops / images
    total = counter.get_total_flops() / images
    print(json.dumps({"train_step_flops_per_image": total, "by_operator_per_image": by_op}),
          flush=True)


def run_with_usage(script, warmup):
    """Runs SCRIPT with time.perf_counter also reading getrusage when SCRIPT itself calls it."""
    import os
    import resource
    import statistics
    import time
    clock = time.perf_counter
    path = os.path.abspath(script)
    marks = []

    def perf_counter():
        if os.path.abspath(sys._getframe(1).f_code.co_filename) == path:
            u = resource.getrusage(resource.RUSAGE_SELF)
            marks.append((u.ru_minflt, u.ru_stime))
        return clock()

    time.perf_counter = perf_counter
    try:
        runpy.run_path(script, run_name="__main__")
    finally:
        time.perf_counter = clock
    steps = [(marks[i + 1][0] - marks[i][0], marks[i + 1][1] - marks[i][1])
             for i in range(2 * warmup, len(marks) - 1, 2)]
    if not steps:
        raise SystemExit("run_reference.py --usage: the reference timed no step after its warm-up")
    print(json.dumps({"minor_faults_per_step": statistics.median(f for f, _ in steps),
                      "system_seconds_per_step": statistics.median(s for _, s in steps),
                      "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}),
          flush=True)


if __name__ == "__main__":
    main()
