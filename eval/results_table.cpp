#include "eval/results_table.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "data/json_integer.h"
#include "trainer/core/atomic_file.h"
#include "trainer/core/error.h"
#include "trainer/core/log.h"

namespace sgm::eval {
namespace fs = std::filesystem;
namespace {

nlohmann::json to_json(const ResultRecord& r) {
  nlohmann::json j = {{"step", r.step},     {"metric", r.metric},     {"value", r.value},
                      {"spread", r.spread}, {"count", r.count},       {"nfe", r.nfe},
                      {"config", r.config}, {"protocol", r.protocol}, {"checkpoint", r.checkpoint}};
  for (const auto& [k, v] : r.details) j["details"][k] = v;
  return j;
}

// An integer field (a float such as 1e30 has no int64 value); `fallback` when absent.
std::int64_t integer_of(const nlohmann::json& j, const char* key,
                        std::optional<std::int64_t> fallback) {
  if (fallback && !j.contains(key)) return *fallback;
  const nlohmann::json& value = j.at(key);
  const std::optional<std::int64_t> integer = data::json_int64(value);
  if (!integer)
    throw core::UsageError(
        fmt::format("{} is {}, not an integer", key, core::printable(value.dump())));
  return *integer;
}

ResultRecord from_json(const nlohmann::json& j) {
  ResultRecord r;
  r.step = integer_of(j, "step", std::nullopt);
  r.metric = j.at("metric").get<std::string>();
  r.value = j.at("value").get<double>();
  r.spread = j.value("spread", 0.0);
  r.count = integer_of(j, "count", 0);
  r.nfe = j.value("nfe", 0.0);
  r.config = j.at("config").get<std::string>();
  r.protocol = j.value("protocol", "");
  r.checkpoint = j.value("checkpoint", "");
  if (j.contains("details"))
    for (const auto& [k, v] : j["details"].items()) r.details[k] = v.get<std::string>();
  return r;
}

// CSV field: quoted when it holds a comma, a quote or a newline.
std::string csv(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Several jobs may add to one table at once (the array tasks of slurm/eval_sweep.sbatch): each
// addition re-reads the file under a lock. The lock is a directory, because mkdir is atomic on
// every shared file system (NFS, Lustre, GPFS) while flock/fcntl locks are not reliable on all of
// them. A lock older than kStaleSeconds belongs to a job killed inside the few milliseconds it
// is held, and is broken with a warning.
class TableLock {
 public:
  explicit TableLock(const fs::path& dir) : path_(dir / "results.lock") {
    constexpr double kStaleSeconds = 60, kGiveUpSeconds = 600;
    fs::create_directories(dir);
    const auto start = std::chrono::steady_clock::now();
    std::error_code ec;
    while (!fs::create_directory(path_, ec)) {
      if (ec) throw core::Error(fmt::format("cannot lock {}: {}", path_.string(), ec.message()));
      const auto age = fs::file_time_type::clock::now() - fs::last_write_time(path_, ec);
      if (!ec && std::chrono::duration<double>(age).count() > kStaleSeconds) {
        core::log::warn("{}: breaking a lock older than {} s (its job was killed)", path_.string(),
                        kStaleSeconds);
        fs::remove_all(path_, ec);
        continue;
      }
      if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >
          kGiveUpSeconds) {
        throw core::Error(
            fmt::format("{} held for more than {} s", path_.string(), kGiveUpSeconds));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~TableLock() {
    std::error_code ec;
    fs::remove(path_, ec);
  }
  TableLock(const TableLock&) = delete;
  TableLock& operator=(const TableLock&) = delete;

 private:
  fs::path path_;
};

}  // namespace

ResultsTable::ResultsTable(std::string dir) : dir_(std::move(dir)) { load(); }

std::vector<ResultRecord> parse_results(const std::string& text, const std::string& path) {
  std::vector<ResultRecord> records;
  std::istringstream in(text);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    try {
      records.push_back(from_json(nlohmann::json::parse(line)));
    } catch (const nlohmann::json::exception& e) {
      throw core::UsageError(
          fmt::format("{}:{}: not a result record ({})", path, number, e.what()));
    } catch (const core::UsageError& e) {
      throw core::UsageError(
          fmt::format("{}:{}: not a result record ({})", path, number, e.what()));
    }
  }
  return records;
}

void ResultsTable::load() {
  const fs::path path = fs::path(dir_) / "results.jsonl";
  std::string text;
  if (std::ifstream in(path, std::ios::binary); in) {
    std::ostringstream bytes;
    bytes << in.rdbuf();
    text = bytes.str();
  }
  records_ = parse_results(text, path.string());
}

bool ResultsTable::has(std::int64_t step, const std::string& metric,
                       const std::string& config) const {
  return std::any_of(records_.begin(), records_.end(), [&](const ResultRecord& r) {
    return r.step == step && r.metric == metric && r.config == config;
  });
}

void ResultsTable::add(const ResultRecord& record) {
  const TableLock lock(dir_);
  load();  // what other jobs added meanwhile
  records_.erase(std::remove_if(records_.begin(), records_.end(),
                                [&](const ResultRecord& r) {
                                  return r.step == record.step && r.metric == record.metric &&
                                         r.config == record.config;
                                }),
                 records_.end());
  records_.push_back(record);
  std::stable_sort(records_.begin(), records_.end(),
                   [](const ResultRecord& a, const ResultRecord& b) { return a.step < b.step; });
  write();
}

void ResultsTable::write() const {
  fs::create_directories(dir_);
  std::string jsonl, table = "step,metric,value,spread,count,nfe,config,protocol,checkpoint\n";
  for (const ResultRecord& r : records_) {
    jsonl += to_json(r).dump() + "\n";
    table +=
        fmt::format("{},{},{:.10g},{:.6g},{},{:.6g},{},{},{}\n", r.step, csv(r.metric), r.value,
                    r.spread, r.count, r.nfe, csv(r.config), csv(r.protocol), csv(r.checkpoint));
  }
  core::write_file_atomic((fs::path(dir_) / "results.jsonl").string(), jsonl);
  core::write_file_atomic((fs::path(dir_) / "results.csv").string(), table);
}

}  // namespace sgm::eval
