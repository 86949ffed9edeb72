// make_test_classifier OUT.pt C H W K: a TorchScript classifier for sgm-eval's guidance tests,
// forward(x, sigma) -> logits [B, K] = flatten(x) W^T / (1 + sigma) + b with fixed weights
// (W[k, j] = sin(k + 0.1 j) / sqrt(D), b[k] = 0.1 k): deterministic, no training.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <ATen/ATen.h>
#include <torch/script.h>

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: make_test_classifier OUT.pt C H W K\n");
    return 2;
  }
  const std::int64_t D = std::atoll(argv[2]) * std::atoll(argv[3]) * std::atoll(argv[4]);
  const std::int64_t K = std::atoll(argv[5]);
  const at::Tensor k = at::arange(K, at::kFloat).view({K, 1});
  const at::Tensor j = at::arange(D, at::kFloat).view({1, D});
  torch::jit::Module m("TestClassifier");
  m.register_buffer("weight", at::sin(k + 0.1 * j) / std::sqrt(static_cast<double>(D)));
  m.register_buffer("bias", at::arange(K, at::kFloat) * 0.1);
  m.define(R"(
def forward(self, x, sigma):
    return x.flatten(1).matmul(self.weight.t()) / (1.0 + sigma.view(-1, 1)) + self.bias
)");
  m.save(argv[1]);
  std::printf("wrote %s: %lld classes over %lld inputs\n", argv[1], static_cast<long long>(K),
              static_cast<long long>(D));
  return 0;
}
