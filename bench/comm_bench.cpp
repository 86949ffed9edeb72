// Communication benchmark. Run under mpirun with W ranks, or alone on one GPU:
//   mpirun -np 2 build/bench/comm_bench [--max-mb 256] [--steps 3] [--layers 15] [--cuda]
//   build/bench/comm_bench --cuda --nccl-single-rank   (one GPU: a one-rank NCCL communicator)
// 1. All-reduce bus bandwidth over message sizes through dist::Communicator, side by side with a
//    plain blocking MPI_Allreduce of the same buffer (CPU tensors; NCCL with --cuda).
//    busbw = bytes / time * 2 (W - 1) / W (nccl-tests' definition); at W = 1 there is no bus, so
//    the table gives algbw = bytes / time: what one call through the communicator costs.
// 2. Exposed communication per training step for gradients the size of
//    ve/cifar10_ncsnpp_continuous (15 Linear(2048, 2048) layers: 62.9M parameters, 251.8 MB
//    fp32; --layers scales it down for slow links), batch 32 per rank: step time with no
//    communication, with the reducer's bucketed all-reduce overlapped with backward, and with
//    one all-reduce after backward.
#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/utils.h>

#include "trainer/dist/communicator.h"
#include "trainer/dist/context.h"
#include "trainer/dist/reducer.h"

namespace {

double seconds(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// The slowest rank's time is the collective's time.
double slowest(sgm::dist::Communicator& comm, double t) {
  return comm.all_reduce(t, sgm::dist::ReduceOp::kMax, "bench time");
}

void bandwidth_table(sgm::dist::Communicator& comm, const at::TensorOptions& options, double max_mb,
                     bool main) {
  const int W = comm.world_size();
  if (main) {
    std::printf(
        "\n| message | sgm all_reduce ms | %s GB/s | plain MPI_Allreduce ms | busbw GB/s "
        "| sgm / plain time |\n|---|---|---|---|---|---|\n",
        W > 1 ? "busbw" : "algbw");
  }
  for (std::int64_t bytes = 4096; bytes <= static_cast<std::int64_t>(max_mb * 1048576);
       bytes *= 4) {
    at::Tensor t = at::ones({bytes / 4}, options);
    const int reps = bytes <= (1 << 20) ? 50 : (bytes <= (16 << 20) ? 10 : 3);
    comm.all_reduce(t, sgm::dist::ReduceOp::kSum).wait();  // warm up
    comm.barrier();
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) comm.all_reduce(t, sgm::dist::ReduceOp::kSum).wait();
    if (t.is_cuda()) t.cpu();  // waits for the device
    const double ours = slowest(comm, seconds(start) / reps);
    double plain = 0;
    if (!t.is_cuda() && W > 1) {
      MPI_Barrier(MPI_COMM_WORLD);
      start = std::chrono::steady_clock::now();
      for (int i = 0; i < reps; ++i) {
        MPI_Allreduce(MPI_IN_PLACE, t.data_ptr(), static_cast<int>(t.numel()), MPI_FLOAT, MPI_SUM,
                      MPI_COMM_WORLD);
      }
      plain = slowest(comm, seconds(start) / reps);
    }
    const double gb = static_cast<double>(bytes) * (W > 1 ? 2.0 * (W - 1) / W : 1.0) / 1e9;
    if (main) {
      const std::string size = bytes < 1048576 ? std::to_string(bytes / 1024) + " KiB"
                                               : std::to_string(bytes / 1048576) + " MiB";
      if (plain > 0) {
        std::printf("| %s | %.3f | %.3g | %.3f | %.3g | %.2f |\n", size.c_str(), ours * 1e3,
                    gb / ours, plain * 1e3, gb / plain, ours / plain);
      } else {
        std::printf("| %s | %.3f | %.3g | - | - | - |\n", size.c_str(), ours * 1e3, gb / ours);
      }
    }
  }
}

void exposed_table(sgm::dist::Communicator& comm, const at::Device& device, int steps, int layers,
                   bool main) {
  torch::manual_seed(0);
  torch::nn::Sequential model;
  for (int i = 0; i < layers; ++i) model->push_back(torch::nn::Linear(2048, 2048));
  model->to(device);
  std::vector<sgm::dist::NamedTensor> named;
  for (const auto& item : model->named_parameters()) named.emplace_back(item.key(), item.value());
  sgm::dist::GradientReducer reducer(named, comm);
  const at::Tensor x = torch::randn({32, 2048}, torch::TensorOptions().device(device));
  auto step = [&](const std::string& mode) {
    reducer.zero_grad();
    comm.barrier();
    const auto start = std::chrono::steady_clock::now();
    reducer.set_sync(mode == "overlap");
    model->forward(x).pow(2).mean().backward();
    if (mode == "after") {
      for (const at::Tensor& flat : reducer.flat_gradients())
        comm.all_reduce(flat, sgm::dist::ReduceOp::kAvg, "after backward").wait();
    }
    if (device.is_cuda()) reducer.flat_gradients().front().sum().item<float>();
    return slowest(comm, seconds(start));
  };
  double t[3] = {0, 0, 0};
  const char* modes[3] = {"none", "overlap", "after"};
  for (int m = 0; m < 3; ++m) step(modes[m]);  // warm up
  for (int s = 0; s < steps; ++s) {
    for (int m = 0; m < 3; ++m) t[m] += step(modes[m]) / steps;  // interleaved: same conditions
  }
  if (main) {
    std::printf(
        "\n| step (forward + backward, batch 32/rank, %.1f MB gradients, %zu buckets) | "
        "ms | exposed communication ms | share of step |\n|---|---|---|---|\n",
        static_cast<double>(layers) * (2048.0 * 2048 + 2048) * 4 / 1e6,
        reducer.buckets().size());
    std::printf("| no communication | %.1f | - | - |\n", t[0] * 1e3);
    std::printf("| bucketed all-reduce overlapped with backward | %.1f | %.1f | %.1f %% |\n",
                t[1] * 1e3, (t[1] - t[0]) * 1e3, 100 * (t[1] - t[0]) / t[1]);
    std::printf("| one all-reduce after backward | %.1f | %.1f | %.1f %% |\n", t[2] * 1e3,
                (t[2] - t[0]) * 1e3, 100 * (t[2] - t[0]) / t[2]);
  }
}

}  // namespace

int main(int argc, char** argv) {
  double max_mb = 256;
  int steps = 3;
  int layers = 15;
  bool cuda = false;
  sgm::dist::CommOptions comm_options;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--max-mb") && i + 1 < argc) {
      max_mb = std::stod(argv[++i]);
    } else if (!std::strcmp(argv[i], "--steps") && i + 1 < argc) {
      steps = std::stoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--layers") && i + 1 < argc) {
      layers = std::stoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--cuda")) {
      cuda = true;
    } else if (!std::strcmp(argv[i], "--nccl-single-rank")) {
      comm_options.nccl_single_rank = true;
    } else {
      std::fprintf(stderr, "comm_bench: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  sgm::dist::install_terminate_handler();
  sgm::dist::ContextOptions options;
  options.device = cuda ? "cuda" : "cpu";
  sgm::dist::Context context(options);
  sgm::dist::Communicator comm(context, comm_options);
  const bool main_rank = context.is_main();
  if (main_rank) {
    std::printf("%d ranks, device %s, %d threads per rank%s\n", context.world_size(),
                context.device().str().c_str(), context.threads(),
                comm_options.nccl_single_rank ? ", one-rank NCCL communicator" : "");
  }
  bandwidth_table(comm, at::TensorOptions().dtype(at::kFloat).device(context.device()), max_mb,
                  main_rank);
  exposed_table(comm, context.device(), steps, layers, main_rank);
  return 0;
}
