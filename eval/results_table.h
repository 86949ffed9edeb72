// The results of an evaluation run: one record per (checkpoint step,
// metric, configuration), kept in DIR/results.jsonl with DIR/results.csv beside it, both
// rewritten whole and atomically after every addition, so a preempted job never leaves a torn
// table and a resumed one skips what is recorded. Rank 0 writes.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sgm::eval {

struct ResultRecord {
  std::int64_t step = 0;
  std::string metric;  // fid | is | kid | bpd | loss | nfe
  double value = 0;
  double spread = 0;       // std over splits/subsets, or the standard error (bpd); 0 if none
  std::int64_t count = 0;  // samples or items behind the value
  double nfe = 0;          // mean network evaluations per sample (0 if not applicable)
  std::string config;      // identifies the options that produced the value
  std::string protocol;    // e.g. "pytorch-fid inception, 10 splits, truncate"
  std::string checkpoint;  // where the weights came from
  std::map<std::string, std::string> details;  // seeds, reference file and checksum, ...
};

// The records of a results.jsonl's text (one JSON object per line, blank lines skipped); a
// malformed line is a core::UsageError naming `path` and the line number.
std::vector<ResultRecord> parse_results(const std::string& text, const std::string& path);

class ResultsTable {
 public:
  // Reads DIR/results.jsonl when it exists; a malformed line is a core::UsageError naming it.
  explicit ResultsTable(std::string dir);
  bool has(std::int64_t step, const std::string& metric, const std::string& config) const;
  // Adds (or replaces the same step, metric and config) and rewrites both files. Other processes
  // may add to the same table concurrently (sweep array tasks): the addition re-reads the file
  // under a lock directory (DIR/results.lock), so no job's records are lost.
  void add(const ResultRecord& record);
  // Reads the file again (another job may have added to it).
  void reload() { load(); }
  const std::vector<ResultRecord>& records() const { return records_; }
  const std::string& dir() const { return dir_; }

 private:
  void load();
  void write() const;
  std::string dir_;
  std::vector<ResultRecord> records_;
};

}  // namespace sgm::eval
