#!/usr/bin/env python3
"""sgm-train against the reference's own training step, side by side, on this machine's CPU.

  bench/vs_reference.py [--sizes full,small] [--sampling] [--rounds 5] [--json FILE]

Per size, --rounds alternating rounds (sgm first in even rounds, the reference first in odd
ones), each process alone on the machine with PyTorch's default threads:
  sgm        build/launch/sgm-train, one rank, on shapes made by sgm-data; images/s, minor page
             faults and kernel CPU seconds per step over the second half of its steps, peak RSS
             of the training steps (its metrics.jsonl records), and of the whole process (wait4),
             which includes the checkpoint written at the end
  reference  score_sde_pytorch's step function (../shared/peers/ref_bench_train.py through
             bench/run_reference.py --usage): images/s of the median step, faults and kernel
             seconds per step (medians), peak RSS of the process (it writes no checkpoint)
Sizes: full = CIFAR-10 NCSN++ (configs/ve/cifar10_ncsnpp_continuous.cfg; the reference's
ve/cifar10_ncsnpp_continuous) at batch 4; small = configs/small/ncsnpp_ve_16px.cfg and the
reference's config reduced to the same network, batch 16. Prints one row per process and round
and, per size, the median over rounds of sgm's images/s over the reference's.
--sampling also times the PC sampler (reverse diffusion + Langevin, 20 levels, batch 4) of one
CIFAR-10 NCSN++: bench/ref_sample_pc.py builds it in the reference and saves it, `sgm-eval
import` reads that file, and in alternating rounds the reference's get_pc_sampler and `sgm-eval
sample` draw 4 samples (seconds of the sampler call; sgm's from its closing progress line).
Environment: SGM_BIN (default build/launch), SGM_PEERS (default ../shared/peers), PYTHONPATH
with the torch wheel (launch/setup prints where it is).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = {
    "full": {"config": "configs/ve/cifar10_ncsnpp_continuous.cfg", "resolution": 32, "batch": 4,
             "steps": 4, "warmup": 2, "ref_set": []},
    "small": {"config": "configs/small/ncsnpp_ve_16px.cfg", "resolution": 16, "batch": 16,
              "steps": 20, "warmup": 5,
              "ref_set": ["model.nf=16", "model.ch_mult=(1,2,2)", "model.num_res_blocks=1",
                          "model.attn_resolutions=(8,)", "model.dropout=0.0",
                          "data.image_size=16"]},
}


def run(cmd, log):
    """Runs cmd with output to log; returns (exit status, peak RSS in MiB) of that process."""
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        with open(log) as f:
            tail = f.read().splitlines()[-5:]
        sys.exit(f"vs_reference.py: {' '.join(cmd[:2])} failed ({proc.returncode}):\n" +
                 "\n".join(tail))
    return usage.ru_maxrss / 1024


def sgm_round(size, data, work, log):
    s, steps = SIZES[size], SIZES[size]["steps"]
    binary = os.path.join(os.environ.get("SGM_BIN", os.path.join(ROOT, "build", "launch")),
                          "sgm-train")
    rss = run([binary, "--config", os.path.join(ROOT, s["config"]), "--data.path=" + data,
               "--workdir", work, f"--data.image_size={s['resolution']}",
               f"--training.batch_size={s['batch']}", f"--training.n_iters={2 * steps}",
               f"--training.log_freq={steps}", "--training.snapshot_freq=1000000",
               "--training.snapshot_freq_for_preemption=1000000",
               "--training.snapshot_sampling=false"], log)
    with open(os.path.join(work, "metrics.jsonl")) as f:
        first, last = [json.loads(line) for line in f][:2]
    # images/s since the start at both records -> the second half of the steps alone
    seconds = 2 * steps * s["batch"] / last["images_per_second"] - \
        steps * s["batch"] / first["images_per_second"]
    return {"images_per_second": steps * s["batch"] / seconds,
            "minor_faults_per_step": last["minor_faults_per_step"],
            "system_seconds_per_step": last["system_seconds_per_step"],
            "peak_rss_mib": last["peak_rss_mib"], "process_peak_rss_mib": rss}


def reference_round(size, peers, log):
    s = SIZES[size]
    cmd = [sys.executable, os.path.join(ROOT, "bench", "run_reference.py"), "--usage", "--",
           os.path.join(peers, "ref_bench_train.py"), os.path.join(peers, "score_sde_pytorch"),
           "ve/cifar10_ncsnpp_continuous", "--batch", str(s["batch"]), "--steps", str(s["steps"]),
           "--warmup", str(s["warmup"]), "--device", "cpu"]
    rss = run(cmd + (["--set"] + s["ref_set"] if s["ref_set"] else []), log)
    with open(log) as f:
        lines = f.read().splitlines()
    step = next(l for l in lines if l.startswith("reference "))
    usage = json.loads(lines[-1])
    return {"images_per_second": float(step.split("images/s=")[1]),
            "minor_faults_per_step": usage["minor_faults_per_step"],
            "system_seconds_per_step": usage["system_seconds_per_step"], "peak_rss_mib": rss,
            "process_peak_rss_mib": rss}


def sampling_rounds(rounds, peers, bin_dir, tmp):
    steps, batch = 20, 4
    script = os.path.join(ROOT, "bench", "ref_sample_pc.py")
    ref_dir = os.path.join(peers, "score_sde_pytorch")
    checkpoint = os.path.join(tmp, "reference.pth")
    run([sys.executable, script, ref_dir, checkpoint, "--steps", str(steps), "--save-only"],
        os.path.join(tmp, "save.log"))
    data, work = os.path.join(tmp, "data-sampling"), os.path.join(tmp, "imported")
    run([os.path.join(bin_dir, "sgm-data"), "make", "--from", "shapes", "--num", "8",
         "--resolution", "32", "--out", data], os.path.join(tmp, "data.log"))
    run([os.path.join(bin_dir, "sgm-eval"), "import", "--checkpoint", checkpoint, "--config",
         os.path.join(ROOT, "configs/ve/cifar10_ncsnpp_continuous.cfg"), "--data.path=" + data,
         f"--model.num_scales={steps}", "--workdir", work], os.path.join(tmp, "import.log"))
    rows = {"sgm": [], "reference": []}
    for r in range(rounds):
        for who in (["sgm", "reference"] if r % 2 == 0 else ["reference", "sgm"]):
            log = os.path.join(tmp, f"sample-{who}-{r}.log")
            if who == "sgm":
                shutil.rmtree(os.path.join(work, "eval"), ignore_errors=True)
                rss = run([os.path.join(bin_dir, "sgm-eval"), "sample", "--workdir", work,
                           f"--eval.num_samples={batch}", f"--eval.batch_size={batch}"], log)
                line = next(l for l in open(log).read().splitlines()
                            if l.startswith(f"samples: {batch} images in "))
                seconds = parse_duration(line.split(" in ", 1)[1].split(" (")[0])
            else:
                rss = run([sys.executable, script, ref_dir, os.path.join(tmp, "again.pth"),
                           "--steps", str(steps), "--batch", str(batch)], log)
                line = open(log).read().splitlines()[-1]
                seconds = float(line.split("seconds=")[1].split()[0])
            rows[who].append({"seconds": seconds, "peak_rss_mib": rss})
            print(f"{'pc':6} {r:5} {who:10} {seconds:9.2f} s{'':25} {rss:13.0f}", flush=True)
    ratios = [y["seconds"] / x["seconds"] for x, y in zip(rows["sgm"], rows["reference"])]
    print(f"pc sampler, 20 levels x (predictor + corrector), batch 4: reference / sgm seconds, "
          f"median of {rounds} rounds: {statistics.median(ratios):.2f}x (rounds: "
          f"{', '.join(f'{x:.2f}' for x in ratios)})", flush=True)
    return {"rounds": rows, "ratios": ratios, "median_ratio": statistics.median(ratios)}


def parse_duration(text):
    """sgm's progress durations: '4.2 s', '12 s', '3 min 05 s', '1 h 02 min'."""
    total, parts = 0.0, text.split()
    for value, unit in zip(parts[::2], parts[1::2]):
        total += float(value) * {"s": 1, "min": 60, "h": 3600}[unit]
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="full,small")
    ap.add_argument("--sampling", action="store_true")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--json")
    a = ap.parse_args()
    peers = os.environ.get("SGM_PEERS", os.path.join(ROOT, "..", "shared", "peers"))
    bin_dir = os.environ.get("SGM_BIN", os.path.join(ROOT, "build", "launch"))
    sizes = [x for x in a.sizes.split(",") if x]
    for size in sizes:
        if size not in SIZES:
            sys.exit(f"vs_reference.py: --sizes: unknown size '{size}' (full, small)")
    results = {}
    print(f"{'size':6} {'round':>5} {'who':10} {'images/s':>9} {'faults/step':>12} "
          f"{'sys s/step':>11} {'peak RSS MiB':>13} {'process peak':>13}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            s = SIZES[size]
            data = os.path.join(tmp, f"data-{size}")
            run([os.path.join(bin_dir, "sgm-data"), "make", "--from", "shapes", "--num",
                 str(4 * s["batch"]), "--resolution", str(s["resolution"]), "--out", data],
                os.path.join(tmp, "data.log"))
            rows = {"sgm": [], "reference": []}
            for r in range(a.rounds):
                order = ["sgm", "reference"] if r % 2 == 0 else ["reference", "sgm"]
                for who in order:
                    log = os.path.join(tmp, f"{size}-{who}-{r}.log")
                    row = (sgm_round(size, data, os.path.join(tmp, f"{size}-work-{r}"), log)
                           if who == "sgm" else reference_round(size, peers, log))
                    rows[who].append(row)
                    print(f"{size:6} {r:5} {who:10} {row['images_per_second']:9.2f} "
                          f"{row['minor_faults_per_step']:12.0f} "
                          f"{row['system_seconds_per_step']:11.3f} {row['peak_rss_mib']:13.0f} "
                          f"{row['process_peak_rss_mib']:13.0f}",
                          flush=True)
            ratios = [x["images_per_second"] / y["images_per_second"]
                      for x, y in zip(rows["sgm"], rows["reference"])]
            med = {who: {k: statistics.median(row[k] for row in rows[who])
                         for k in rows[who][0]} for who in rows}
            results[size] = {"rounds": rows, "ratios": ratios, "median": med,
                             "median_ratio": statistics.median(ratios)}
            print(f"{size}: sgm / reference images/s, median of {a.rounds} rounds: "
                  f"{statistics.median(ratios):.2f}x (rounds: "
                  f"{', '.join(f'{x:.2f}' for x in ratios)}); faults/step "
                  f"{med['sgm']['minor_faults_per_step']:.0f} vs "
                  f"{med['reference']['minor_faults_per_step']:.0f}; sys s/step "
                  f"{med['sgm']['system_seconds_per_step']:.3f} vs "
                  f"{med['reference']['system_seconds_per_step']:.3f}; peak RSS MiB "
                  f"{med['sgm']['peak_rss_mib']:.0f} vs {med['reference']['peak_rss_mib']:.0f} "
                  f"(sgm with its final checkpoint {med['sgm']['process_peak_rss_mib']:.0f})",
                  flush=True)
        if a.sampling:
            results["sampling"] = sampling_rounds(a.rounds, peers, bin_dir, tmp)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
