#!/usr/bin/env bash
# NCSN against score_sde's own network. score_sde's `ncsn` cannot be built or run as shipped, so
# there is no stored fixture: the real PyTorch builds it here from score_sde_pytorch's source with
# its defects repaired (score_sde_interop.py repair_ncsn: the conditional InstanceNorm++ its
# blocks call, a dilation of 1 by default, dilated convolutions padded by their dilation) and
# writes a fixture of the usual layout (configs/ve/ncsn/cifar10 at nf 16, 16 px, perturbed
# weights, a forward pass at two noise levels, the same weights as a score_sde checkpoint);
# model_parity then checks it like every fixture (forward within 1e-4 of the reference's, from
# /params, from the .pth model and from its EMA shadow list, which is positional, so the
# parameters must come in the reference's order). The repaired reference's parameter counts of
# the full-size configs are checked against parameter_counts' figures.
# Skips (77) without score_sde_pytorch's source beside the repository or without torch/h5py.
#   Usage: ncsn_parity_test.sh SRC MODEL_PARITY_TEST
set -u
src=$1
parity=$2
peers=$src/../shared/peers/score_sde_pytorch
[ -d "$peers/models" ] || { echo "SKIP: no score_sde_pytorch source at $peers"; exit 77; }
source "$src/launch/setup" > /dev/null 2>&1
export PYTHONPATH=${SGM_PYTHONPATH:-}${PYTHONPATH:+:$PYTHONPATH}
python3 -c "import torch, h5py" 2> /dev/null || { echo "SKIP: torch/h5py missing (launch/setup installs them)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/score_sde"
python3 "$src/tests/launch/score_sde_interop.py" ncsn-fixture "$peers" "$tmp/score_sde/ncsn_ve_disc.h5" \
  ve/ncsn/cifar10=30117635 ve/ncsn/cifar10_124=39750659 ve/ncsn/celeba_124=51379715 \
  > "$tmp/log" 2>&1
rc=$?
grep -v "No CUDA runtime" "$tmp/log"
[ $rc = 0 ] || { echo "FAIL: the repaired reference"; exit 1; }
SGM_FIXTURES=$tmp "$parity" --gtest_filter=ModelParity.* || exit 1
echo PASS
