#include "trainer/train/checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "data/json_integer.h"
#include "data/named_arrays.h"
#include "trainer/core/atomic_file.h"
#include "trainer/core/checksum.h"
#include "trainer/core/error.h"
#include "trainer/core/log.h"
#include "trainer/core/memory.h"
#include "trainer/core/name_fields.h"

namespace sgm::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* kWeights = "weights.h5";
constexpr const char* kState = "state.json";

// The step of a checkpoint directory named meta-NNNNNNNN or snapshot-NNNNNNNN; -1 otherwise.
std::int64_t step_of(const std::string& directory) {
  const std::string name = fs::path(directory).filename().string();
  for (const std::string prefix : {"meta-", "snapshot-"}) {
    if (name.size() == prefix.size() + 8 && name.compare(0, prefix.size(), prefix) == 0)
      return core::decimal_field(name, prefix.size(), 8);
  }
  return -1;
}

Checkpoint::Named read_named(const data::NamedArrayFile& file, const std::string& group) {
  Checkpoint::Named out;
  if (!file.has(group)) return out;
  for (auto& [key, tensor] : file.read_group(group)) out.emplace_back(key, tensor);
  return out;
}

}  // namespace

CheckpointStore::CheckpointStore(const std::string& workdir, int keep_meta)
    : dir_((fs::path(workdir) / "checkpoints").string()), keep_meta_(keep_meta) {
  SGM_CHECK(keep_meta_ >= 1, "keep_meta = {} must be at least 1", keep_meta_);
}

std::string CheckpointStore::save(const std::string& kind, const Checkpoint& c) {
  SGM_CHECK(kind == "meta" || kind == "snapshot", "checkpoint kind '{}'", kind);
  fs::create_directories(dir_);
  const std::string target = path_of(kind, c.state.step);
  {
    core::StagedDirectory staged(target);
    std::vector<std::pair<std::string, at::Tensor>> arrays;
    for (const auto& [group, named] :
         {std::pair{"model", &c.model}, std::pair{"ema", &c.ema},
          std::pair{"adam/exp_avg", &c.exp_avg}, std::pair{"adam/exp_avg_sq", &c.exp_avg_sq}}) {
      for (const auto& [key, tensor] : *named)
        arrays.emplace_back(std::string(group) + "/" + key, tensor);
    }
    SGM_CHECK(c.phema.size() == c.state.phema_sigma_rels.size(),
              "checkpoint: {} post-hoc EMA profiles for {} widths", c.phema.size(),
              c.state.phema_sigma_rels.size());
    for (std::size_t k = 0; k < c.phema.size(); ++k)
      for (const auto& [key, tensor] : c.phema[k])
        arrays.emplace_back(fmt::format("phema/{}/{}", k, key), tensor);
    const std::string weights = staged.path() + "/" + kWeights;
    data::write_named_arrays(weights, arrays);
    const TrainingState& s = c.state;
    nlohmann::json state = {
        {"format", "sgm-checkpoint"},
        {"version", kCheckpointVersion},
        {"step", s.step},
        {"images_seen", s.images_seen},
        {"data_cursor", s.data_cursor},
        {"seed", s.seed},
        {"ema_updates", s.ema_updates},
        {"adam_steps", s.adam_steps},
        {"nonfinite_skips", s.nonfinite_skips},
        {"world_size", s.world_size},
        {"config", s.config},
        {"files", {{kWeights, core::hex64(core::file_checksum(weights))}}},
    };
    if (!s.phema_sigma_rels.empty())
      state["phema"] = {{"sigma_rels", s.phema_sigma_rels}, {"updates", s.phema_updates}};
    core::write_file_atomic(staged.path() + "/" + kState, state.dump(2) + "\n");
    staged.commit();
  }
  core::write_file_atomic((fs::path(dir_) / "latest").string(),
                          fs::path(target).filename().string() + "\n");
  // Retention: the newest keep_meta meta checkpoints stay; snapshots are permanent.
  int metas = 0;
  for (const std::string& d : list()) {
    if (fs::path(d).filename().string().rfind("meta-", 0) != 0) continue;
    if (++metas <= keep_meta_) continue;
    std::error_code ec;
    fs::remove_all(d, ec);
    if (ec) core::log::warn("could not remove old checkpoint {}: {}", d, ec.message());
  }
  return target;
}

std::vector<std::string> CheckpointStore::list() const {
  std::vector<std::string> out;
  if (!fs::is_directory(dir_)) return out;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    if (entry.is_directory() && step_of(entry.path().string()) >= 0)
      out.push_back(entry.path().string());
  }
  std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
    return step_of(a) != step_of(b) ? step_of(a) > step_of(b) : a > b;  // snapshot before meta
  });
  return out;
}

std::string CheckpointStore::path_of(const std::string& kind, std::int64_t step) const {
  return (fs::path(dir_) / fmt::format("{}-{:08d}", kind, step)).string();
}

std::vector<std::int64_t> CheckpointStore::snapshot_steps() const {
  std::vector<std::int64_t> steps;
  for (const std::string& d : list()) {
    if (fs::path(d).filename().string().rfind("snapshot-", 0) == 0) steps.push_back(step_of(d));
  }
  std::sort(steps.begin(), steps.end());
  return steps;
}

namespace {

nlohmann::json parse_state_json(const std::string& text, const std::string& state_path) {
  try {
    return nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw core::UsageError(state_path + ": not valid JSON (" + e.what() + ")");
  }
}

nlohmann::json read_state_json(const std::string& directory) {
  const std::string state_path = (fs::path(directory) / kState).string();
  std::ifstream in(state_path, std::ios::binary);
  if (!in) throw core::UsageError(state_path + ": missing");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_state_json(text.str(), state_path);
}

// A count of the state: an integer in JSON (a float such as 1e30 has no int64 value), at least
// `least`.
std::int64_t count_of(const nlohmann::json& object, const char* key, std::int64_t least,
                      const std::string& state_path) {
  const nlohmann::json& value = object.at(key);
  const std::optional<std::int64_t> count = data::json_int64(value);
  if (!count || *count < least) {
    throw core::UsageError(fmt::format("{}: {} is {}, not an integer >= {}", state_path, key,
                                       core::printable(value.dump()), least));
  }
  return *count;
}

TrainingState parse_state(const nlohmann::json& state, const std::string& state_path) {
  if (!state.is_object() || state.value("format", "") != "sgm-checkpoint" ||
      state.at("version") != kCheckpointVersion)
    throw core::UsageError(state_path + ": not an sgm checkpoint of version 1");
  TrainingState s;
  s.step = count_of(state, "step", 0, state_path);
  s.images_seen = count_of(state, "images_seen", 0, state_path);
  s.data_cursor = count_of(state, "data_cursor", 0, state_path);
  s.seed = count_of(state, "seed", INT64_MIN, state_path);
  s.ema_updates = count_of(state, "ema_updates", 0, state_path);
  s.adam_steps = count_of(state, "adam_steps", 0, state_path);
  s.nonfinite_skips = count_of(state, "nonfinite_skips", 0, state_path);
  s.world_size = count_of(state, "world_size", 1, state_path);
  s.config = state.at("config");
  if (state.contains("phema")) {
    s.phema_sigma_rels = state.at("phema").at("sigma_rels").get<std::vector<double>>();
    s.phema_updates = count_of(state.at("phema"), "updates", 0, state_path);
  }
  return s;
}

}  // namespace

TrainingState parse_training_state(const std::string& text, const std::string& path) {
  try {
    return parse_state(parse_state_json(text, path), path);
  } catch (const nlohmann::json::exception& e) {
    throw core::UsageError(path + ": " + e.what());
  }
}

TrainingState CheckpointStore::load_state(const std::string& directory) {
  const std::string state_path = (fs::path(directory) / kState).string();
  try {
    return parse_state(read_state_json(directory), state_path);
  } catch (const nlohmann::json::exception& e) {
    throw core::UsageError(state_path + ": " + e.what());
  }
}

Checkpoint CheckpointStore::load(const std::string& directory, CheckpointParts parts) {
  const std::string state_path = (fs::path(directory) / kState).string();
  const nlohmann::json state = read_state_json(directory);
  try {
    const TrainingState parsed = parse_state(state, state_path);
    for (const auto& [file, expected] : state.at("files").items()) {
      if (file.empty() || file == "." || file == ".." || file.find('/') != std::string::npos)
        throw core::UsageError(fmt::format("{}: files names '{}', not a file of the checkpoint",
                                           state_path, core::printable(file)));
      const std::string path = (fs::path(directory) / file).string();
      if (!fs::exists(path)) throw core::UsageError(path + ": missing");
      const std::string actual = core::hex64(core::file_checksum(path));
      if (actual != expected.get<std::string>()) {
        throw core::UsageError(fmt::format("{}: checksum {} does not match {} (damaged)", path,
                                           actual, expected.get<std::string>()));
      }
    }
    Checkpoint c;
    c.path = directory;
    c.state = parsed;
    c.weights_checksum = state.at("files").at(kWeights).get<std::string>();
    const data::NamedArrayFile weights((fs::path(directory) / kWeights).string());
    c.model = read_named(weights, "model");
    c.ema = read_named(weights, "ema");
    if (parts == CheckpointParts::kWeights) return c;
    c.exp_avg = read_named(weights, "adam/exp_avg");
    c.exp_avg_sq = read_named(weights, "adam/exp_avg_sq");
    for (std::size_t k = 0; k < c.state.phema_sigma_rels.size(); ++k) {
      c.phema.push_back(read_named(weights, fmt::format("phema/{}", k)));
      if (c.phema.back().empty())
        throw core::UsageError(fmt::format("{}: no phema/{} arrays", c.path + "/" + kWeights, k));
    }
    return c;
  } catch (const nlohmann::json::exception& e) {
    throw core::UsageError(state_path + ": " + e.what());
  }
}

std::optional<Checkpoint> CheckpointStore::load_latest(CheckpointParts parts) const {
  const std::vector<std::string> candidates = list();
  std::vector<std::string> damaged;
  for (const std::string& d : candidates) {
    try {
      Checkpoint c = load(d, parts);
      if (!damaged.empty()) {
        core::log::warn("resuming from {}: the newer checkpoint(s) {} are damaged", d,
                        fmt::format("{}", fmt::join(damaged, ", ")));
      }
      return c;
    } catch (const core::UsageError& e) {
      core::log::warn("checkpoint {} is damaged: {}", d, e.what());
      damaged.push_back(fs::path(d).filename().string());
    }
  }
  if (!damaged.empty()) {
    throw core::UsageError(
        fmt::format("{}: {} checkpoint(s), none valid; not starting from step "
                    "0 (remove the directory to start afresh)",
                    dir_, damaged.size()));
  }
  return std::nullopt;
}

Checkpoint capture(const TrainingState& state, const TrainingTensors& tensors) {
  Checkpoint c;
  c.state = state;
  c.model = core::on_host(tensors.model);
  c.ema = core::on_host(tensors.ema);
  c.exp_avg = core::on_host(tensors.exp_avg);
  c.exp_avg_sq = core::on_host(tensors.exp_avg_sq);
  for (const core::NamedTensors& p : tensors.phema) c.phema.push_back(core::on_host(p));
  return c;
}

void restore(const Checkpoint& c, const TrainingTensors& into) {
  core::copy_named(c.model, into.model, "weights", c.path, /*every_destination=*/true, false);
  core::copy_named(c.ema, into.ema, "EMA", c.path, true, false);
  core::copy_named(c.exp_avg, into.exp_avg, "Adam exp_avg", c.path, true, false);
  core::copy_named(c.exp_avg_sq, into.exp_avg_sq, "Adam exp_avg_sq", c.path, true, false);
  for (std::size_t k = 0; k < std::min(c.phema.size(), into.phema.size()); ++k)
    core::copy_named(c.phema[k], into.phema[k], fmt::format("post-hoc EMA profile {}", k), c.path,
                     true, false);
}

Checkpoint find_checkpoint(const std::string& path, CheckpointParts parts) {
  if (fs::exists(fs::path(path) / kState)) return CheckpointStore::load(path, parts);
  if (!fs::is_directory(path)) throw core::UsageError(path + ": no such checkpoint or directory");
  std::optional<Checkpoint> newest = CheckpointStore(path, 1).load_latest(parts);
  if (!newest) throw core::UsageError(path + ": no checkpoints in " + path + "/checkpoints");
  return *newest;
}

void export_weights(const Checkpoint& checkpoint, const std::string& out,
                    const core::NamedTensors& extra) {
  std::vector<std::pair<std::string, at::Tensor>> arrays;
  for (const auto& [key, tensor] : checkpoint.model) arrays.emplace_back("model/" + key, tensor);
  for (const auto& [key, tensor] : checkpoint.ema) arrays.emplace_back("ema/" + key, tensor);
  arrays.insert(arrays.end(), extra.begin(), extra.end());
  const std::string tmp = fmt::format("{}.tmp-{}", out, ::getpid());
  try {
    data::write_named_arrays(tmp, arrays,
                             {{"step", std::to_string(checkpoint.state.step)},
                              {"checkpoint", fs::absolute(checkpoint.path).string()}});
    fs::rename(tmp, out);
  } catch (...) {
    std::error_code ec;
    fs::remove(tmp, ec);
    throw;
  }
  const fs::path parent = fs::absolute(out).parent_path();
  core::fsync_directory(parent.string());
}

}  // namespace sgm::train
