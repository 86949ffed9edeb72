#!/usr/bin/env python3
"""The reference's PC sampler on CPU, timed, on a network it saves for sgm to import.

  ref_sample_pc.py REF_DIR OUT.pth [--batch 4] [--steps 20] [--seed 0] [--save-only]

REF_DIR is score_sde_pytorch. Builds its CIFAR-10 NCSN++ (ve/cifar10_ncsnpp_continuous, with
model.num_scales = --steps) with weights from torch.manual_seed(--seed), writes it as the
reference's own checkpoint (utils.save_checkpoint's dict: optimizer, model, ema, step) to
OUT.pth, then draws --batch samples with the reference's get_pc_sampler as its config asks
(reverse diffusion + Langevin, snr 0.16, one corrector step, the last step without noise) on
the EMA weights, and prints one line: `reference pc_sampler ... seconds=S nfe=N`. The time covers
the sampler call alone. --save-only writes OUT.pth and stops. The FIR resampler takes the
reference's pure-PyTorch path; the probability-flow ODE sampler's scipy import gets an empty
module (that sampler is not run).
"""
import argparse
import importlib
import sys
import time
import types

ap = argparse.ArgumentParser()
ap.add_argument("ref")
ap.add_argument("out")
ap.add_argument("--batch", type=int, default=4)
ap.add_argument("--steps", type=int, default=20)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--save-only", action="store_true")
a = ap.parse_args()
sys.path.insert(0, a.ref)


class Cfg(dict):
    """What ml_collections.ConfigDict offers the reference's configs: items as attributes."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as e:
            raise AttributeError(name) from e

    def __setattr__(self, name, value):
        self[name] = value


sys.modules["ml_collections"] = types.SimpleNamespace(ConfigDict=Cfg)
scipy = types.ModuleType("scipy")
scipy.integrate = types.ModuleType("scipy.integrate")
sys.modules["scipy"], sys.modules["scipy.integrate"] = scipy, scipy.integrate

import torch  # noqa: E402
import torch.utils.cpp_extension as cpp_extension  # noqa: E402

cpp_extension.load = lambda *args, **kwargs: types.SimpleNamespace()  # no CUDA extension build
import op  # noqa: E402,F401
import models.up_or_down_sampling as resampling  # noqa: E402

fir = sys.modules["op.upfirdn2d"]


def upfirdn2d(x, kernel, up=1, down=1, pad=(0, 0)):
    return fir.upfirdn2d_native(x, kernel, up, up, down, down, pad[0], pad[1], pad[0], pad[1])


fir.upfirdn2d = resampling.upfirdn2d = upfirdn2d
import losses  # noqa: E402
import sampling  # noqa: E402
import sde_lib  # noqa: E402
from models import ncsnpp  # noqa: E402,F401  (registers the model)
from models import utils as mutils  # noqa: E402
from models.ema import ExponentialMovingAverage  # noqa: E402

config = importlib.import_module("configs.ve.cifar10_ncsnpp_continuous").get_config()
config.model.num_scales = a.steps
config.device = torch.device("cpu")
torch.manual_seed(a.seed)
net = mutils.create_model(config)
ema = ExponentialMovingAverage(net.parameters(), decay=config.model.ema_rate)
optimizer = losses.get_optimizer(config, net.parameters())
torch.save({"optimizer": optimizer.state_dict(), "model": net.state_dict(),
            "ema": ema.state_dict(), "step": 0}, a.out)
if a.save_only:
    sys.exit(0)

sde = sde_lib.VESDE(config.model.sigma_min, config.model.sigma_max, config.model.num_scales)
s = config.sampling
shape = (a.batch, config.data.num_channels, config.data.image_size, config.data.image_size)
sampler = sampling.get_pc_sampler(
    sde, shape, sampling.get_predictor(s.predictor), sampling.get_corrector(s.corrector),
    lambda x: x, s.snr, s.n_steps_each, s.probability_flow, config.training.continuous,
    s.noise_removal, 1e-5, config.device)  # centered = False: the inverse scaler is the identity
ema.copy_to(net.parameters())
start = time.perf_counter()
_, nfe = sampler(net)
seconds = time.perf_counter() - start
print(f"reference pc_sampler ve/cifar10_ncsnpp_continuous batch={a.batch} steps={a.steps} "
      f"torch={torch.__version__} seconds={seconds:.3f} nfe={nfe}", flush=True)
