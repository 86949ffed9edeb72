#include "trainer/core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include <fmt/format.h>

#include "trainer/core/log.h"

namespace sgm::core {
namespace {

// A rank of mpirun or srun: mpirun hands its ranks a pty, so isatty() says nothing there.
bool under_launcher() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_PROCID"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

std::string format_rate(double rate) {
  if (rate >= 100) return fmt::format("{:.0f}", rate);
  if (rate >= 10) return fmt::format("{:.1f}", rate);
  return fmt::format("{:.2f}", rate);
}

void to_console(const std::string& text, bool line) {
  if (line) {
    log::info("{}", text);
    return;
  }
  if (!log::speaks()) return;
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace

std::string format_duration(double seconds) {
  if (seconds < 9.95) return fmt::format("{:.1f} s", std::max(0.0, seconds));
  const auto s = static_cast<std::int64_t>(std::llround(seconds));
  if (s < 60) return fmt::format("{} s", s);
  if (s < 3600) return fmt::format("{} min {:02d} s", s / 60, s % 60);
  return fmt::format("{} h {:02d} min", s / 3600, (s % 3600) / 60);
}

ProgressOptions default_progress_options() {
  ProgressOptions o;
  const char* term = std::getenv("TERM");
  o.in_place = ::isatty(STDOUT_FILENO) == 1 && !under_launcher() &&
               !(term != nullptr && std::string(term) == "dumb");
  return o;
}

Progress::Progress(std::string what, std::int64_t total, std::string unit, ProgressOptions options)
    : what_(std::move(what)),
      unit_(std::move(unit)),
      total_(std::max<std::int64_t>(total, 0)),
      o_(std::move(options)),
      next_percent_(std::max(1, o_.step_percent)) {
  if (!o_.out) o_.out = to_console;
  start_ = now();
}

Progress::~Progress() {
  if (drawn_ && o_.in_place && !finished_) o_.out("\n", false);
}

double Progress::now() const {
  if (o_.clock) return o_.clock();
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string Progress::line() const {
  const double elapsed = now() - start_;
  std::string text = fmt::format("{}: {}/{} {} ({}%)", what_, done_, total_, unit_,
                                 total_ > 0 ? done_ * 100 / total_ : 100);
  if (done_ > 0 && elapsed > 0) {
    const double rate = static_cast<double>(done_) / elapsed;
    text += fmt::format(", {} {}/s, {} left", format_rate(rate), unit_,
                        format_duration(static_cast<double>(total_ - done_) / rate));
  }
  return text;
}

void Progress::update(std::int64_t done) {
  done_ = std::min(std::max<std::int64_t>(done, 0), total_);
  if (finished_ || total_ == 0) return;
  if (o_.in_place) {
    const double t = now();
    if (t - last_draw_ < o_.min_interval) return;
    last_draw_ = t;
    o_.out("\r\033[K" + line(), false);
    drawn_ = true;
    return;
  }
  const std::int64_t percent = done_ * 100 / total_;
  if (percent < next_percent_ || done_ == total_) return;  // the closing line says 100 %
  const int step = std::max(1, o_.step_percent);
  next_percent_ = static_cast<int>(percent / step + 1) * step;
  o_.out(line(), true);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  done_ = total_;
  const double elapsed = now() - start_;
  std::string text = fmt::format("{}: {} {} in {}", what_, total_, unit_, format_duration(elapsed));
  if (elapsed > 0 && total_ > 0)
    text += fmt::format(" ({} {}/s)", format_rate(static_cast<double>(total_) / elapsed), unit_);
  if (drawn_ && o_.in_place) o_.out("\r\033[K", false);
  o_.out(text, true);
}

}  // namespace sgm::core
