// Tensors by name (a model's state, a checkpoint's groups) and the one shape-checked copy between
// two such lists that loading weights, resuming and evaluating share.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace sgm::core {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// Copies each tensor of `from` into the same-named tensor of `to` (in place, without autograd).
// Throws core::UsageError, naming `where`, `what` and the tensor, when a shape differs
// ("WHERE: WHAT 'NAME' has shape AxB, the model needs CxD"); when `every_destination`, for a
// tensor of `to` without a source ("WHERE: no WHAT for 'NAME'"); when `every_source`, for a
// tensor of `from` without a destination ("WHERE: WHAT 'NAME' is not in the model"). Nothing is
// copied unless every check passes.
void copy_named(const NamedTensors& from, const NamedTensors& to, const std::string& what,
                const std::string& where, bool every_destination, bool every_source);

// copy_named's checks, then each destination takes its source's memory instead of a copy where
// both are on the same device with the same dtype (a contiguous source), so that the two stay
// one tensor: loading weights for inference without holding them twice. Elsewhere it copies.
void share_named(const NamedTensors& from, const NamedTensors& to, const std::string& what,
                 const std::string& where, bool every_destination, bool every_source);

// Host copies (detached, contiguous, owning their memory) of every tensor.
NamedTensors host_copies(const NamedTensors& tensors);

// Every tensor on the host, detached: a CPU tensor as it is (the same memory, no copy), any
// other a host copy. For reading now, before anything changes the originals.
NamedTensors on_host(const NamedTensors& tensors);

}  // namespace sgm::core
