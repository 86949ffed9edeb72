#include "eval/rounds.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "data/numpy_arrays.h"
#include "data/numpy_writer.h"
#include "trainer/core/atomic_file.h"
#include "trainer/core/error.h"
#include "trainer/core/log.h"
#include "trainer/core/progress.h"
#include "trainer/core/stop_signal.h"

namespace sgm::eval {
namespace fs = std::filesystem;

StopRequested::StopRequested(int sig)
    : std::runtime_error(fmt::format("stopped by signal {}", sig)), signal(sig) {}

void check_stop(dist::Communicator& comm) {
  const std::int64_t local = core::stop_signal();
  const std::int64_t any = comm.all_reduce(local, dist::ReduceOp::kMax, "stop signal");
  if (any != 0) throw StopRequested(static_cast<int>(any));
}

std::int64_t RoundPlan::size(std::int64_t round) const {
  return std::max<std::int64_t>(0, std::min(global_batch, items - begin(round)));
}

std::pair<std::int64_t, std::int64_t> local_slice(std::int64_t begin, std::int64_t size, int rank,
                                                  int world) {
  const std::int64_t base = size / world, extra = size % world;
  const std::int64_t start = begin + rank * base + std::min<std::int64_t>(rank, extra);
  return {start, base + (rank < extra ? 1 : 0)};
}

Arrays gather_rows(const Arrays& local, dist::Communicator& comm) {
  if (comm.world_size() == 1) return local;
  const std::int64_t rows = local.empty() ? 0 : local.front().second.size(0);
  const std::vector<std::int64_t> counts = comm.all_gather(rows, "gather rows");
  const std::int64_t most = *std::max_element(counts.begin(), counts.end());
  Arrays out;
  for (const auto& [name, tensor] : local) {
    SGM_CHECK(tensor.size(0) == rows, "gather_rows: '{}' has {} rows, expected {}", name,
              tensor.size(0), rows);
    std::vector<std::int64_t> shape = tensor.sizes().vec();
    shape[0] = most;
    at::Tensor padded = at::zeros(shape, tensor.options().device(at::kCPU));
    padded.narrow(0, 0, rows).copy_(tensor);
    shape[0] = most * comm.world_size();
    at::Tensor all = at::empty(shape, padded.options());
    comm.all_gather(padded, all, "gather " + name).wait();
    std::vector<at::Tensor> parts;
    for (int r = 0; r < comm.world_size(); ++r) parts.push_back(all.narrow(0, r * most, counts[r]));
    out.emplace_back(name, at::cat(parts));
  }
  return out;
}

RoundStore::RoundStore(std::string dir, std::string manifest, dist::Communicator& comm)
    : dir_(std::move(dir)), comm_(comm) {
  if (comm_.rank() == 0) {
    fs::create_directories(dir_);
    const fs::path file = fs::path(dir_) / "manifest.json";
    std::string previous;
    if (std::ifstream in(file); in) {
      std::ostringstream text;
      text << in.rdbuf();
      previous = text.str();
    }
    if (previous != manifest) {
      std::int64_t removed = 0;
      for (const auto& entry : fs::directory_iterator(dir_)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("round-", 0) == 0) removed += fs::remove(entry.path()) ? 1 : 0;
      }
      if (removed > 0) {
        core::log::warn("{}: {} rounds were made with other options; removed, starting over", dir_,
                        removed);
      }
      core::write_file_atomic(file.string(), manifest);
    }
  }
  comm_.barrier();
}

std::string round_path(const std::string& dir, std::int64_t round) {
  return (fs::path(dir) / fmt::format("round-{:05d}.npz", round)).string();
}

std::string RoundStore::path(std::int64_t round) const { return round_path(dir_, round); }

bool RoundStore::has(std::int64_t round) const { return fs::exists(path(round)); }

void RoundStore::run(const RoundPlan& plan, const Compute& compute,
                     const std::function<void(std::int64_t)>& after_round) {
  std::int64_t first = 0;
  if (comm_.rank() == 0) {
    while (first < plan.rounds() && has(first)) ++first;
  }
  first = comm_.all_reduce(first, dist::ReduceOp::kMax, "first missing round");
  if (first > 0) core::log::info("{}: {} of {} rounds already done", dir_, first, plan.rounds());
  core::Progress progress(plan.task, plan.items - std::min(plan.items, plan.begin(first)),
                          plan.unit);
  for (std::int64_t r = first; r < plan.rounds(); ++r) {
    check_stop(comm_);
    const auto [begin, size] =
        local_slice(plan.begin(r), plan.size(r), comm_.rank(), comm_.world_size());
    Arrays local = compute(begin, size);
    for (auto& [name, t] : local) t = t.detach().to(at::kCPU).contiguous();
    const Arrays round = gather_rows(local, comm_);
    if (comm_.rank() == 0) data::write_npz(path(r), round);
    if (after_round) after_round(r);
    progress.advance(plan.size(r));
  }
  progress.finish();
}

at::Tensor concatenate_rounds(const std::string& dir, const RoundPlan& plan,
                              const std::string& name) {
  std::vector<at::Tensor> parts;
  for (std::int64_t r = 0; r < plan.rounds(); ++r) {
    const std::string path = round_path(dir, r);
    if (!fs::exists(path)) throw core::UsageError(fmt::format("{}: missing", path));
    auto arrays = data::read_numpy_arrays(path);
    auto it = arrays.find(name);
    if (it == arrays.end()) throw core::UsageError(fmt::format("{}: no array '{}'", path, name));
    parts.push_back(it->second);
  }
  SGM_CHECK(!parts.empty(), "{}: no rounds", dir);
  return at::cat(parts);
}

}  // namespace sgm::eval
