// Run by ctest under `mpirun -np 2`: the gradient reducer on a small NCSN++ (323,811 parameters,
// about 13 buckets). Two ranks, each on half of the global batch, must end backward with the
// gradients one process computes on the whole batch; also with gradient accumulation and with
// bf16 reduction (looser). Buckets launch in the same order on both ranks and before backward
// ends; the gradients stay views of the flat buffer; the consistency check names a rank whose
// parameters differ.
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "tests/support/compare.h"
#include "trainer/core/error.h"
#include "trainer/dist/communicator.h"
#include "trainer/dist/context.h"
#include "trainer/dist/reducer.h"
#include "trainer/models/registry.h"

namespace sgm::dist {
namespace {

constexpr std::int64_t kGlobalBatch = 4;

std::shared_ptr<models::ScoreModel> small_ncsnpp() {
  models::ModelOptions o;
  o.nf = 16;
  o.ch_mult = {1, 2, 2};
  o.num_res_blocks = 1;
  o.attn_resolutions = {8};
  o.dropout = 0.0;
  models::DataShape data;
  data.image_size = 16;
  at::manual_seed(7);  // the same initial weights on every rank and for the reference
  return models::make_model(o, data, core::SdeOptions{});
}

struct GlobalBatch {
  at::Tensor x, sigma, target;
};

GlobalBatch global_batch() {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(11);
  return {at::randn({kGlobalBatch, 3, 16, 16}, g), at::rand({kGlobalBatch}, g) * 10 + 0.01,
          at::randn({kGlobalBatch, 3, 16, 16}, g)};
}

// Mean over the samples given of the squared error against the target.
at::Tensor loss(models::ScoreModel& model, const GlobalBatch& b, std::int64_t begin,
                std::int64_t count) {
  const at::Tensor out =
      model.forward(b.x.narrow(0, begin, count), b.sigma.narrow(0, begin, count));
  return (out - b.target.narrow(0, begin, count)).pow(2).mean();
}

std::vector<NamedTensor> named(const models::ScoreModel& model) {
  std::vector<NamedTensor> out;
  for (const auto& item : model.named_parameters()) out.emplace_back(item.key(), item.value());
  return out;
}

// The gradients of one process on the whole global batch.
std::vector<at::Tensor> reference_gradients() {
  auto model = small_ncsnpp();
  loss(*model, global_batch(), 0, kGlobalBatch).backward();
  std::vector<at::Tensor> grads;
  for (const auto& p : model->parameters()) {
    if (p.requires_grad()) grads.push_back(p.grad().clone());
  }
  return grads;
}

// Largest |grad - reference| over all parameters, relative to the largest |reference|.
double relative_error(const GradientReducer& reducer, const std::vector<at::Tensor>& reference) {
  double err = 0, scale = 0;
  const auto& params = reducer.parameters();
  EXPECT_EQ(params.size(), reference.size());
  for (std::size_t k = 0; k < params.size() && k < reference.size(); ++k) {
    err = std::max(err, (params[k].second.grad() - reference[k]).abs().max().item<double>());
    scale = std::max(scale, reference[k].abs().max().item<double>());
  }
  return err / scale;
}

ReducerOptions small_buckets() {
  ReducerOptions o;
  o.first_bucket_mb = 0.02;
  o.bucket_mb = 0.1;
  return o;
}

class ReducerMpi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ContextOptions c;
    c.device = "cpu";
    context_ = new Context(c);
    comm_ = new Communicator(*context_, CommOptions{120});
    reference_ = new std::vector<at::Tensor>(reference_gradients());
  }
  static void TearDownTestSuite() {
    delete reference_;
    delete comm_;
    delete context_;
  }
  static inline Context* context_ = nullptr;
  static inline Communicator* comm_ = nullptr;
  static inline std::vector<at::Tensor>* reference_ = nullptr;
};

TEST_F(ReducerMpi, AveragedHalfBatchGradientsEqualTheWholeBatchGradients) {
  ASSERT_EQ(comm_->world_size(), 2) << "run under mpirun -np 2";
  auto model = small_ncsnpp();
  GradientReducer reducer(named(*model), *comm_, small_buckets());
  reducer.broadcast_parameters();
  const std::int64_t B = kGlobalBatch / comm_->world_size();
  const GlobalBatch batch = global_batch();
  for (int step = 0; step < 2; ++step) {  // twice: the second backward reuses hooks and buffers
    reducer.zero_grad();
    loss(*model, batch, comm_->rank() * B, B).backward();
    reducer.check_gradient_views();
    const double err = relative_error(reducer, *reference_);
    std::printf(
        "[evidence] step %d: W=2 averaged gradients vs one process on the whole batch: "
        "max abs err / max |ref| = %.3e (tolerance 1e-5), %zu buckets\n",
        step, err, reducer.buckets().size());
    EXPECT_LT(err, 1e-5);
  }
  // Bucket launch order: 0, 1, ..., n-1 on every rank.
  const auto launches = reducer.last_launches();
  ASSERT_EQ(launches.size(), reducer.buckets().size());
  std::uint64_t hash = 0;  // unsigned: the hash wraps (signed overflow is undefined, UBSan)
  for (std::size_t i = 0; i < launches.size(); ++i) {
    EXPECT_EQ(launches[i].bucket, static_cast<int>(i));
    hash = hash * 31 + static_cast<std::uint64_t>(launches[i].bucket);
  }
  const auto signature = static_cast<std::int64_t>(hash);
  const auto signatures = comm_->all_gather(signature, "launch order");
  EXPECT_EQ(signatures.front(), signatures.back()) << "bucket launch order differs across ranks";
  // Overlap: the first bucket went out while most gradients were still to be computed.
  const std::int64_t total = static_cast<std::int64_t>(reducer.parameters().size());
  EXPECT_GT(launches.front().gradients_outstanding, total / 2);
  std::printf(
      "[evidence] launch order identical on both ranks; bucket 0 launched at %.1f ms with "
      "%lld of %lld gradients still outstanding, the last bucket at %.1f ms; end of "
      "backward waited %.2f ms\n",
      launches.front().seconds * 1e3,
      static_cast<long long>(launches.front().gradients_outstanding), static_cast<long long>(total),
      launches.back().seconds * 1e3, reducer.last_wait_seconds() * 1e3);
}

TEST_F(ReducerMpi, AccumulationCommunicatesOnlyOnTheLastMicroBatch) {
  auto model = small_ncsnpp();
  GradientReducer reducer(named(*model), *comm_, small_buckets());
  const std::int64_t B = kGlobalBatch / comm_->world_size();
  const GlobalBatch batch = global_batch();
  reducer.zero_grad();
  const std::int64_t issued_before = comm_->recorder().progress().issued;
  reducer.set_sync(false);
  (loss(*model, batch, comm_->rank() * B, 1) / 2).backward();
  EXPECT_EQ(comm_->recorder().progress().issued, issued_before)
      << "no_sync micro-step communicated";
  reducer.set_sync(true);
  (loss(*model, batch, comm_->rank() * B + 1, 1) / 2).backward();
  reducer.check_gradient_views();
  const double err = relative_error(reducer, *reference_);
  std::printf(
      "[evidence] W=2 x 2 micro-batches of 1 vs one process on the whole batch: max abs "
      "err / max |ref| = %.3e (tolerance 1e-5); the first micro-batch issued nothing\n",
      err);
  EXPECT_LT(err, 1e-5);
}

TEST_F(ReducerMpi, Bf16ReductionIsCloseToFp32) {
  auto model = small_ncsnpp();
  ReducerOptions o = small_buckets();
  o.reduce_bf16 = true;
  GradientReducer reducer(named(*model), *comm_, o);
  const std::int64_t B = kGlobalBatch / comm_->world_size();
  reducer.zero_grad();
  loss(*model, global_batch(), comm_->rank() * B, B).backward();
  const double err = relative_error(reducer, *reference_);
  std::printf(
      "[evidence] bf16 gradient reduction vs fp32 whole batch: max abs err / max |ref| = "
      "%.3e (tolerance 1e-2: bf16 keeps 8 significant bits)\n",
      err);
  EXPECT_LT(err, 1e-2);
  EXPECT_GT(err, 0.0);  // it did go through bfloat16
}

TEST_F(ReducerMpi, ConsistencyCheckNamesTheRankThatDiffers) {
  auto model = small_ncsnpp();
  GradientReducer reducer(named(*model), *comm_);
  reducer.broadcast_parameters();
  reducer.check_consistency();  // identical after the broadcast
  const auto& [name, victim] = reducer.parameters()[5];
  if (comm_->rank() == 1) {
    at::NoGradGuard no_grad;
    victim.view(-1)[0].add_(1e-3);
  }
  try {
    reducer.check_consistency();
    ADD_FAILURE() << "a perturbed parameter on rank 1 went unnoticed";
  } catch (const core::Error& e) {
    const std::string what = e.what();
    std::printf("[evidence] consistency check: %s\n", what.c_str());
    EXPECT_NE(what.find("rank 1 first at '" + name + "'"), std::string::npos) << what;
    EXPECT_EQ(what.find("rank 0 first"), std::string::npos) << what;
  }
  // Broadcasting from rank 0 repairs it.
  reducer.broadcast_parameters();
  reducer.check_consistency();
}

TEST_F(ReducerMpi, ModuleZeroGradDetachesTheGradientsAndIsCaught) {
  auto model = small_ncsnpp();
  GradientReducer reducer(named(*model), *comm_);
  reducer.check_gradient_views();
  model->zero_grad();  // LibTorch 2.x: set_to_none = true
  EXPECT_THROW(reducer.check_gradient_views(), core::Error);
}

}  // namespace
}  // namespace sgm::dist
