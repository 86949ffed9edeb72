#include "trainer/core/named_tensors.h"

#include <map>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "trainer/core/error.h"

namespace sgm::core {

namespace {

// The (source, destination) pairs copy_named and share_named act on, after every check.
std::vector<std::pair<at::Tensor, at::Tensor>> matched(const NamedTensors& from,
                                                       const NamedTensors& to,
                                                       const std::string& what,
                                                       const std::string& where,
                                                       bool every_destination, bool every_source) {
  const std::map<std::string, at::Tensor> sources(from.begin(), from.end());
  if (every_source) {
    const std::map<std::string, at::Tensor> destinations(to.begin(), to.end());
    for (const auto& [name, source] : sources) {
      if (!destinations.count(name))
        throw UsageError(
            fmt::format("{}: {} '{}' is not in the model", where, what, printable(name)));
    }
  }
  std::vector<std::pair<at::Tensor, at::Tensor>> pairs;
  for (const auto& [name, destination] : to) {
    const auto it = sources.find(name);
    if (it == sources.end()) {
      if (every_destination) throw UsageError(fmt::format("{}: no {} for '{}'", where, what, name));
      continue;
    }
    if (it->second.sizes() != destination.sizes()) {
      throw UsageError(fmt::format("{}: {} '{}' has shape {}, the model needs {}", where, what,
                                   name, fmt::join(it->second.sizes(), "x"),
                                   fmt::join(destination.sizes(), "x")));
    }
    pairs.emplace_back(it->second, destination);
  }
  return pairs;
}

}  // namespace

void copy_named(const NamedTensors& from, const NamedTensors& to, const std::string& what,
                const std::string& where, bool every_destination, bool every_source) {
  const auto pairs = matched(from, to, what, where, every_destination, every_source);
  const at::NoGradGuard no_grad;
  for (const auto& [source, destination] : pairs) destination.copy_(source);
}

void share_named(const NamedTensors& from, const NamedTensors& to, const std::string& what,
                 const std::string& where, bool every_destination, bool every_source) {
  const auto pairs = matched(from, to, what, where, every_destination, every_source);
  const at::NoGradGuard no_grad;
  for (auto [source, destination] : pairs) {
    const bool same_kind = source.device() == destination.device() &&
                           source.scalar_type() == destination.scalar_type() &&
                           source.is_contiguous();
    if (same_kind) {
      destination.set_data(source);
    } else {
      destination.copy_(source);
    }
  }
}

NamedTensors host_copies(const NamedTensors& tensors) {
  NamedTensors out;
  out.reserve(tensors.size());
  for (const auto& [name, t] : tensors) out.emplace_back(name, t.detach().cpu().clone());
  return out;
}

NamedTensors on_host(const NamedTensors& tensors) {
  NamedTensors out;
  out.reserve(tensors.size());
  for (const auto& [name, t] : tensors) out.emplace_back(name, t.detach().cpu());
  return out;
}

}  // namespace sgm::core
