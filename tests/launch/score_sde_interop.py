#!/usr/bin/env python3
"""The Python side of interop_test.sh: what a user of score_sde_pytorch or EDM does with sgm's
files, done with the real PyTorch (the wheel launch/setup installs), h5py and numpy.

  check-export FIXTURE.h5 FIXTURE.pth OUT.pth OUT.h5 [PEERS]
      torch.load(OUT.pth, weights_only=True) holds score_sde's layout; every model tensor equals
      the fixture's /params under the same key, and the fixture .pth's model, EMA and step; the
      HDF5 export's params/ equal /params. With PEERS (score_sde_pytorch's source), the
      reference's own network loads the exported state_dict strictly and reproduces
      /forward/out.
  train-reference PEERS FIXTURE.h5 OUT.pth STEPS
      STEPS training steps of the reference's own step function (loss, Adam, EMA) from the
      fixture's weights, saved as score_sde's utils.save_checkpoint saves.
  compare-checkpoints A.pth B.pth [PEERS FIXTURE.h5]
      model, EMA (decay, num_updates, shadow) and Adam state equal, tensor for tensor; with
      PEERS, B resumes in the reference (load_state_dict of model, optimizer and EMA; one step).
  edm-dataset PNG_DIR OUT.zip OUT_DIR CLASSES
      PNG_DIR's images in EDM dataset_tool.py's layout (00000/img00000000.png, dataset.json with
      label i % CLASSES), as a zip and as a folder.
  check-dataset DATASET_DIR ROUNDS_DIR CLASSES
      the sgm dataset's images equal the samples stored in ROUNDS_DIR/round-*.npz, in order,
      and its labels are i % CLASSES.
  ncsn-fixture PEERS OUT.h5 [CONFIG=COUNT ...]
      score_sde's NCSN, repaired (repair_ncsn), as a model fixture OUT.h5 (with OUT.pth) for
      model_parity; each full-size CONFIG's parameter count in the repaired reference = COUNT.
Prints its evidence; exits 1 on a mismatch.
"""
import glob
import importlib
import json
import os
import sys
import types
import zipfile

import h5py
import numpy as np
import torch

failures = 0


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures += 1


def max_abs(a, b):
    a = torch.as_tensor(a).double()
    b = torch.as_tensor(b).double()
    if a.shape != b.shape:
        return float("inf")
    return (a - b).abs().max().item() if a.numel() else 0.0


def strip(state):
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}


def import_reference(peers):
    """score_sde_pytorch's models package imported from PEERS (ml_collections replaced by a
    dict with attributes, the FIR kernels by the reference's pure-PyTorch path)."""
    sys.path.insert(0, peers)

    class ConfigDict(dict):
        def __getattr__(self, k):
            try:
                return self[k]
            except KeyError as e:
                raise AttributeError(k) from e

        def __setattr__(self, k, v):
            self[k] = v

    mlc = types.ModuleType("ml_collections")
    mlc.ConfigDict = ConfigDict
    sys.modules["ml_collections"] = mlc
    import torch.utils.cpp_extension as cppext
    cppext.load = lambda *x, **k: types.SimpleNamespace()
    import op  # noqa: F401  (the FIR kernels: the reference's pure-PyTorch path)
    ufd = sys.modules["op.upfirdn2d"]

    def native(x, kernel, up=1, down=1, pad=(0, 0)):
        return ufd.upfirdn2d_native(x, kernel, up, up, down, down, pad[0], pad[1], pad[0], pad[1])

    ufd.upfirdn2d = native
    import models.up_or_down_sampling as uds
    uds.upfirdn2d = native
    from models import ncsnpp, ddpm, ncsnv2, utils as mutils  # noqa: F401
    return mutils


def reference(peers, fixture):
    """score_sde_pytorch imported from PEERS, and the fixture's config built by its own config
    module with the fixture's overrides."""
    mutils = import_reference(peers)
    with h5py.File(fixture, "r") as f:
        module = f.attrs["reference"].split(" ")[1].removesuffix(".py").replace("/", ".")
        overrides = json.loads(f.attrs["overrides_json"])
    cfg = importlib.import_module(module).get_config()
    for key, value in overrides.items():
        section, name = key.split(".")
        cfg[section][name] = value
    cfg.device = torch.device("cpu")
    return cfg, mutils


def repair_ncsn():
    """score_sde's NCSN (models/ncsnv2.py, `ncsn`) cannot be built or run as shipped; three
    repairs make it the network of NCSN's own code (CondRefineNetDilated), which sgm builds:
      1. its blocks are given get_normalization(config), the unconditional InstanceNorm++, and
         call it with a label: they get the conditional one (ConditionalInstanceNorm2dPlus);
      2. ConditionalResidualBlock's dilation defaults to None and is compared with 1: 1;
      3. ncsn_conv3x3 pads every 3x3 by 1, so the dilated residual sums mismatch in shape: a
         dilated one is padded by its dilation; and it scales a bias that bias=False removed
         (the refinement blocks' convolutions): it scales a bias only where there is one.
    (Its configs also lack data.channels, which it reads: the caller sets it from
    data.num_channels.)"""
    from models import layers, ncsnv2, normalization
    ncsnv2.get_normalization = lambda config, conditional=False: normalization.ConditionalInstanceNorm2dPlus
    defaults = list(layers.ConditionalResidualBlock.__init__.__defaults__)
    defaults[-1] = 1
    layers.ConditionalResidualBlock.__init__.__defaults__ = tuple(defaults)
    def dilated(in_planes, out_planes, stride=1, bias=True, dilation=1, init_scale=1., padding=1):
        conv = torch.nn.Conv2d(in_planes, out_planes, 3, stride=stride, bias=bias,
                               dilation=dilation, padding=dilation)
        with torch.no_grad():
            conv.weight.mul_(1e-10 if init_scale == 0 else init_scale)
            if bias:
                conv.bias.mul_(1e-10 if init_scale == 0 else init_scale)
        return conv

    layers.ncsn_conv3x3 = dilated


def ncsn_fixture(peers, out_h5, *counts):
    """A score_sde fixture (the layout of ../fixtures/score_sde) of the repaired NCSN: configs
    ve/ncsn/cifar10 at nf 16 and 16 px, every parameter moved off its initial value, a forward
    pass at two noise levels, and the same weights as a score_sde checkpoint beside it. Then,
    for each CONFIG=COUNT, the repaired reference's parameter count of that full-size config."""
    mutils = import_reference(peers)
    repair_ncsn()
    from models import ema as mema
    module = "configs.ve.ncsn.cifar10"
    overrides = {"model.nf": 16, "data.image_size": 16}
    cfg = importlib.import_module(module).get_config()
    for key, value in overrides.items():
        section, name = key.split(".")
        cfg[section][name] = value
    cfg.data.channels = cfg.data.num_channels
    torch.manual_seed(0)
    net = mutils.get_model(cfg.model.name)(cfg)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    net.eval()
    x = torch.rand(2, cfg.data.num_channels, 16, 16)
    labels = torch.tensor([3, 7])
    with torch.no_grad():
        out = net(x, labels)
    state = net.state_dict()
    config = {section: {k: v for k, v in cfg[section].items() if isinstance(v, (int, float, str, bool, list, tuple))}
              for section in ("data", "model", "training")}
    with h5py.File(out_h5, "w") as f:
        f.attrs["case"] = "ncsn_ve_disc"
        f.attrs["config_json"] = json.dumps(config)
        f.attrs["overrides_json"] = json.dumps(overrides)
        f.attrs["reference"] = f"score_sde_pytorch {module.replace('.', '/')}.py, NCSN repaired (tests/launch/score_sde_interop.py repair_ncsn)"
        f.attrs["num_parameters"] = sum(p.numel() for p in net.parameters())
        for k, v in state.items():
            f[f"params/{k}"] = v.numpy()
        f["forward/x"] = x.numpy()
        f["forward/labels"] = labels.numpy()
        f["forward/out"] = out.numpy()
    ema = mema.ExponentialMovingAverage(net.parameters(), decay=cfg.model.ema_rate or 0.999)
    torch.save({"optimizer": torch.optim.Adam(net.parameters()).state_dict(),
                "model": {"module." + k: v for k, v in state.items()},
                "ema": ema.state_dict(), "step": 7}, os.path.splitext(out_h5)[0] + ".pth")
    print(f"[evidence] repaired score_sde NCSN at nf 16, 16 px: {len(state)} tensors, "
          f"{sum(p.numel() for p in net.parameters())} parameters, forward max |out| "
          f"{out.abs().max().item():.4g} -> {out_h5}")
    for item in counts:
        name, want = item.split("=")
        full = importlib.import_module("configs." + name.replace("/", ".")).get_config()
        full.data.channels = full.data.num_channels
        n = sum(p.numel() for p in mutils.get_model(full.model.name)(full).parameters())
        check(n == int(want), f"repaired reference {name}: {n} parameters (sgm's config: {want})")


def check_export(fixture, fixture_pth, out_pth, out_h5, peers=None):
    ours = torch.load(out_pth, weights_only=True)
    theirs = torch.load(fixture_pth, weights_only=False)
    check(list(ours.keys()) == ["optimizer", "model", "ema", "step"],
          f"{out_pth}: keys {list(ours.keys())} (score_sde's save_checkpoint layout)")
    check(all(k.startswith("module.") for k in ours["model"]), "model keys carry 'module.'")
    with h5py.File(fixture, "r") as f:
        params = {k: torch.from_numpy(f["params"][k][()]) for k in f["params"]}
        x = torch.from_numpy(f["forward/x"][()])
        labels = torch.from_numpy(f["forward/labels"][()])
        out_ref = torch.from_numpy(f["forward/out"][()])
    model = strip(ours["model"])
    check(sorted(model) == sorted(params), f"{len(model)} model keys = the {len(params)} of /params")
    worst = max(max_abs(model[k], params[k]) for k in params if k in model)
    check(worst == 0, f"exported model vs /params: max abs diff {worst:g} over {len(params)} tensors")
    worst = max(max_abs(ours["model"][k], v) for k, v in theirs["model"].items())
    check(worst == 0, f"exported model vs the fixture .pth: max abs diff {worst:g}")
    a, b = ours["ema"]["shadow_params"], theirs["ema"]["shadow_params"]
    worst = max(max_abs(p, q) for p, q in zip(a, b)) if len(a) == len(b) else float("inf")
    check(worst == 0, f"{len(a)} EMA shadow tensors vs the fixture's {len(b)}: max abs diff {worst:g}")
    check(ours["step"] == theirs["step"], f"step {ours['step']} = {theirs['step']}")
    check(len(ours["optimizer"]["param_groups"][0]["params"]) ==
          len(theirs["optimizer"]["param_groups"][0]["params"]),
          "optimizer numbers the same parameters")
    with h5py.File(out_h5, "r") as f:
        worst = max(max_abs(f["params"][k][()], params[k]) for k in params)
        check(sorted(f["params"]) == sorted(params) and worst == 0,
              f"{out_h5}: params/ vs /params max abs diff {worst:g}")
    if peers:
        cfg, mutils = reference(peers, fixture)
        net = mutils.get_model(cfg.model.name)(cfg)
        net.load_state_dict(model, strict=True)
        net.eval()
        with torch.no_grad():
            out = net(x, labels)
        diff = max_abs(out, out_ref)
        scale = out_ref.abs().max().item()
        check(diff <= 1e-5 * scale, f"score_sde's {cfg.model.name} with the exported weights "
              f"(load_state_dict strict): forward vs /forward/out max abs diff {diff:.3g} "
              f"(max |out| {scale:.3g})")


def train_reference(peers, fixture, out, steps):
    cfg, mutils = reference(peers, fixture)
    import losses
    import sde_lib
    from models.ema import ExponentialMovingAverage
    torch.manual_seed(0)
    net = torch.nn.DataParallel(mutils.get_model(cfg.model.name)(cfg))
    with h5py.File(fixture, "r") as f:
        net.module.load_state_dict({k: torch.from_numpy(f["params"][k][()]) for k in f["params"]})
    opt = losses.get_optimizer(cfg, net.parameters())
    ema = ExponentialMovingAverage(net.parameters(), decay=cfg.model.ema_rate)
    state = dict(optimizer=opt, model=net, ema=ema, step=0)
    s = cfg.training.sde
    m = cfg.model
    sde = (sde_lib.VESDE(m.sigma_min, m.sigma_max, m.num_scales) if s == "vesde" else
           sde_lib.VPSDE(m.beta_min, m.beta_max, m.num_scales) if s == "vpsde" else
           sde_lib.subVPSDE(m.beta_min, m.beta_max, m.num_scales))
    step_fn = losses.get_step_fn(sde, train=True, optimize_fn=losses.optimization_manager(cfg),
                                 reduce_mean=cfg.training.reduce_mean,
                                 continuous=cfg.training.continuous,
                                 likelihood_weighting=cfg.training.likelihood_weighting)
    x = torch.rand(4, cfg.data.num_channels, cfg.data.image_size, cfg.data.image_size)
    for _ in range(steps):
        loss = step_fn(state, 2 * x - 1 if cfg.data.centered else x)  # counts state["step"]
    torch.save({"optimizer": opt.state_dict(), "model": net.state_dict(), "ema": ema.state_dict(),
                "step": state["step"]}, out)
    print(f"reference trained {steps} steps (loss {loss.item():.4g}): {out}")


def compare_checkpoints(a_path, b_path, peers=None, fixture=None):
    a = torch.load(a_path, weights_only=False)
    b = torch.load(b_path, weights_only=True)
    worst = max(max_abs(v, b["model"][k]) if k in b["model"] else float("inf")
                for k, v in a["model"].items())
    check(worst == 0 and len(a["model"]) == len(b["model"]),
          f"model: {len(a['model'])} tensors, max abs diff {worst:g}")
    sa, sb = a["ema"]["shadow_params"], b["ema"]["shadow_params"]
    worst = max(max_abs(p, q) for p, q in zip(sa, sb)) if len(sa) == len(sb) else float("inf")
    check(worst == 0, f"EMA shadow: {len(sa)} tensors, max abs diff {worst:g}")
    check(a["ema"]["num_updates"] == b["ema"]["num_updates"],
          f"EMA num_updates {a['ema']['num_updates']} = {b['ema']['num_updates']}")
    oa, ob = a["optimizer"]["state"], b["optimizer"]["state"]
    check(sorted(oa) == sorted(ob), f"Adam state for {len(oa)} parameters = {len(ob)}")
    worst = 0.0
    for i in oa:
        for key in ("exp_avg", "exp_avg_sq", "step"):
            worst = max(worst, max_abs(oa[i][key], ob[i][key]) if i in ob else float("inf"))
    check(worst == 0, f"Adam exp_avg, exp_avg_sq and step: max abs diff {worst:g}")
    check(a["step"] == b["step"], f"step {a['step']} = {b['step']}")
    if peers:
        cfg, mutils = reference(peers, fixture)
        import losses
        from models.ema import ExponentialMovingAverage
        net = torch.nn.DataParallel(mutils.get_model(cfg.model.name)(cfg))
        opt = losses.get_optimizer(cfg, net.parameters())
        ema = ExponentialMovingAverage(net.parameters(), decay=cfg.model.ema_rate)
        net.load_state_dict(b["model"], strict=True)
        opt.load_state_dict(b["optimizer"])
        ema.load_state_dict(b["ema"])
        x = torch.rand(2, cfg.data.num_channels, cfg.data.image_size, cfg.data.image_size)
        loss = net(x, torch.full((2,), 0.5 if cfg.training.continuous else 10)).square().mean()
        loss.backward()
        opt.step()
        ema.update(net.parameters())
        check(all(torch.isfinite(p).all() for p in net.parameters()),
              "the reference resumes from it: model, Adam and EMA load_state_dict, one step")


def edm_dataset(png_dir, out_zip, out_dir, classes):
    pngs = sorted(glob.glob(os.path.join(png_dir, "*.png")))
    names = [f"{i // 1000:05d}/img{i:08d}.png" for i in range(len(pngs))]
    meta = {"labels": [[n, i % classes] for i, n in enumerate(names)]}
    with zipfile.ZipFile(out_zip, "w", compression=zipfile.ZIP_STORED) as z:
        for name, png in zip(names, pngs):
            z.write(png, name)
        z.writestr("dataset.json", json.dumps(meta))
    for name, png in zip(names, pngs):
        os.makedirs(os.path.join(out_dir, os.path.dirname(name)), exist_ok=True)
        with open(png, "rb") as src, open(os.path.join(out_dir, name), "wb") as dst:
            dst.write(src.read())
    with open(os.path.join(out_dir, "dataset.json"), "w") as f:
        json.dump(meta, f)
    print(f"EDM layout: {len(pngs)} images, {classes} classes -> {out_zip}, {out_dir}")


def check_dataset(dataset, rounds, classes):
    images, labels = [], []
    for shard in sorted(glob.glob(os.path.join(dataset, "*.h5"))):
        with h5py.File(shard, "r") as f:
            images.append(f["images"][()])
            labels.append(f["labels"][()])
    images = np.concatenate(images)
    labels = np.concatenate(labels)
    files = sorted(glob.glob(os.path.join(rounds, "round-*.npz")),
                   key=lambda p: int(p.rsplit("-", 1)[1].split(".")[0]))
    samples = np.concatenate([np.load(p)["samples"] for p in files])
    same = images.shape == samples.shape and np.array_equal(images, samples)
    diff = int(np.abs(images.astype(int) - samples.astype(int)).max()) if images.shape == samples.shape else -1
    check(same, f"{dataset}: {images.shape[0]} images = the stored uint8 samples "
          f"(max abs diff {diff})")
    check(np.array_equal(labels, np.arange(len(labels)) % classes),
          f"labels from dataset.json: {labels[:8].tolist()}...")


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "check-export":
        check_export(*args)
    elif cmd == "train-reference":
        train_reference(args[0], args[1], args[2], int(args[3]))
    elif cmd == "compare-checkpoints":
        compare_checkpoints(*args)
    elif cmd == "edm-dataset":
        edm_dataset(args[0], args[1], args[2], int(args[3]))
    elif cmd == "check-dataset":
        check_dataset(args[0], args[1], int(args[2]))
    elif cmd == "ncsn-fixture":
        ncsn_fixture(*args)
    else:
        sys.exit(f"unknown command {cmd}")
    sys.exit(1 if failures else 0)
