// The one shape-checked copy of tensors by name: it copies every matching tensor, and each kind
// of mismatch (another shape, a destination without a source, a source without a destination)
// is a UsageError naming the place and the tensor, with nothing copied.
#include "trainer/core/named_tensors.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "trainer/core/error.h"

namespace sgm::core {
namespace {

std::string error_of(const NamedTensors& from, const NamedTensors& to, bool every_destination,
                     bool every_source) {
  try {
    copy_named(from, to, "weights", "ckpt", every_destination, every_source);
  } catch (const UsageError& e) {
    std::printf("[evidence] %s\n", e.what());
    return e.what();
  }
  return "";
}

TEST(NamedTensors, CopiesByNameAndRefusesEveryMismatch) {
  const at::Tensor a = at::zeros({2, 3}), b = at::zeros({4});
  const NamedTensors to{{"a", a}, {"b", b}};
  copy_named({{"b", at::full({4}, 2.0)}, {"a", at::ones({2, 3})}}, to, "weights", "ckpt", true,
             true);
  EXPECT_TRUE(at::equal(a, at::ones({2, 3})));
  EXPECT_TRUE(at::equal(b, at::full({4}, 2.0)));

  EXPECT_EQ(error_of({{"a", at::zeros({3, 2})}, {"b", b}}, to, true, true),
            "ckpt: weights 'a' has shape 3x2, the model needs 2x3");
  EXPECT_EQ(error_of({{"a", at::full({2, 3}, 5.0)}}, to, true, false), "ckpt: no weights for 'b'");
  EXPECT_TRUE(at::equal(a, at::ones({2, 3}))) << "a failed copy changed a tensor";
  EXPECT_EQ(error_of({{"a", a}, {"b", b}, {"c", b}}, to, true, true),
            "ckpt: weights 'c' is not in the model");
  // Partial copies where they are allowed: a missing destination or an extra source.
  EXPECT_EQ(error_of({{"a", at::full({2, 3}, 3.0)}}, to, false, true), "");
  EXPECT_TRUE(at::equal(a, at::full({2, 3}, 3.0)));
  EXPECT_EQ(error_of({{"a", a}, {"b", b}, {"c", b}}, to, true, false), "");
}

TEST(NamedTensors, SharingGivesTheDestinationTheSourcesMemoryWhereItCan) {
  const at::Tensor a = at::zeros({2, 3}), b = at::zeros({4}, at::kDouble);
  const at::Tensor source_a = at::ones({2, 3}), source_b = at::full({4}, 2.0f);
  share_named({{"a", source_a}, {"b", source_b}}, {{"a", a}, {"b", b}}, "weights", "ckpt", true,
              true);
  EXPECT_EQ(a.data_ptr(), source_a.data_ptr()) << "same dtype and device: one tensor";
  EXPECT_TRUE(at::equal(a, at::ones({2, 3})));
  EXPECT_NE(b.data_ptr(), source_b.data_ptr()) << "float into double: a copy";
  EXPECT_TRUE(at::equal(b, at::full({4}, 2.0, at::kDouble)));
  EXPECT_EQ(b.scalar_type(), at::kDouble);
  std::printf("[evidence] shared: a at the source's address %s; b (float -> double) copied: %s\n",
              a.data_ptr() == source_a.data_ptr() ? "yes" : "no",
              b.data_ptr() != source_b.data_ptr() ? "yes" : "no");
  try {
    share_named({{"a", at::zeros({3, 2})}}, {{"a", a}}, "weights", "ckpt", true, true);
    ADD_FAILURE() << "no error for another shape";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(), "ckpt: weights 'a' has shape 3x2, the model needs 2x3");
  }
  EXPECT_EQ(a.data_ptr(), source_a.data_ptr()) << "a refused share changed a tensor";
}

TEST(NamedTensors, HostCopiesOwnTheirMemory) {
  const at::Tensor base = at::arange(6, at::kFloat);
  const NamedTensors copies = host_copies({{"view", base.narrow(0, 2, 3)}});
  base.zero_();
  EXPECT_TRUE(at::equal(copies[0].second, at::tensor({2.0f, 3.0f, 4.0f})));
}

TEST(NamedTensors, OnHostKeepsCpuTensorsWithoutACopy) {
  const at::Tensor base = at::arange(6, at::kFloat).requires_grad_(true);
  const NamedTensors host = on_host({{"view", base.narrow(0, 2, 3)}});
  EXPECT_EQ(host[0].second.data_ptr(), base.narrow(0, 2, 3).data_ptr());
  EXPECT_FALSE(host[0].second.requires_grad());
  EXPECT_TRUE(at::equal(host[0].second, at::tensor({2.0f, 3.0f, 4.0f})));
}

}  // namespace
}  // namespace sgm::core
