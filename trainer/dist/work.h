// dist::Work: the handle of a collective in flight. CPU work completes on the communication
// thread; CUDA work completes on the communicator's stream.
#pragma once

#include <memory>

namespace sgm::dist {

class WorkState {
 public:
  virtual ~WorkState() = default;
  // CPU: blocks until the collective is done and rethrows its failure. CUDA: makes the caller's
  // current stream wait for it (no host synchronisation).
  virtual void wait() = 0;
  virtual bool completed() = 0;
};

class Work {
 public:
  Work() = default;  // an already completed collective (world size 1)
  explicit Work(std::shared_ptr<WorkState> state) : state_(std::move(state)) {}
  void wait() {
    if (state_) state_->wait();
  }
  bool completed() { return !state_ || state_->completed(); }

 private:
  std::shared_ptr<WorkState> state_;
};

}  // namespace sgm::dist
