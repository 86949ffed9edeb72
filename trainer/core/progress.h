// Progress of a long task (sgm-data make/verify, the rounds of sgm-eval, statistics): on a
// terminal one line rewritten in place at most five times a second; otherwise (Slurm logs,
// pipes, under mpirun or srun, whose ranks may see a pty) one line each time another
// `step_percent` is done. Each line says how much is done, the rate and the time left. Rank 0
// speaks; the plain lines also go to the log file.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace sgm::core {

struct ProgressOptions {
  bool in_place = false;
  int step_percent = 10;
  double min_interval = 0.2;      // seconds between in-place redraws
  std::function<double()> clock;  // seconds; empty: a steady clock
  // Receives each text: a whole line (`line` true) or an in-place redraw. Empty: the console
  // (and, for lines, the log file) of rank 0.
  std::function<void(const std::string& text, bool line)> out;
};

// In place on a terminal that is not a rank's of mpirun/srun; lines otherwise.
ProgressOptions default_progress_options();

class Progress {
 public:
  // `what` names the task ("make data"), `unit` what is counted ("images").
  Progress(std::string what, std::int64_t total, std::string unit,
           ProgressOptions options = default_progress_options());
  // Without finish() (an error or a stop signal): ends an in-place line, claims nothing.
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // `done` items of `total` so far (counted from the start of this Progress).
  void update(std::int64_t done);
  void advance(std::int64_t n) { update(done_ + n); }
  // The task is complete: one closing line with the count, the time and the rate.
  void finish();

 private:
  double now() const;
  std::string line() const;

  std::string what_, unit_;
  std::int64_t total_, done_ = 0;
  ProgressOptions o_;
  double start_ = 0, last_draw_ = -1e30;
  int next_percent_;
  bool drawn_ = false, finished_ = false;
};

// "42 s", "3 min 05 s", "2 h 07 min": a duration as a person reads it.
std::string format_duration(double seconds);

}  // namespace sgm::core
