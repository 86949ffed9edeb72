// Pixel conversion (truncation as score_sde, rounding as EDM) and the grid layout.
#include "data/image_grid.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace sgm::data {
namespace {

TEST(ImageGrid, ToUint8TruncatesOrRoundsAndClips) {
  // 0.999 * 255 = 254.7: score_sde's cast gives 254, rounding 255; out-of-range values clip.
  const at::Tensor x = at::tensor({0.999f, -0.5f, 1.5f, 0.5f}).view({1, 1, 2, 2});
  const at::Tensor t = to_uint8(x, /*centered=*/false, Quantize::kTruncate);
  const at::Tensor r = to_uint8(x, false, Quantize::kRound);
  ASSERT_EQ(t.sizes(), at::IntArrayRef({1, 2, 2, 1}));
  EXPECT_EQ(t[0][0][0][0].item<int>(), 254);
  EXPECT_EQ(r[0][0][0][0].item<int>(), 255);
  EXPECT_EQ(t[0][0][1][0].item<int>(), 0);
  EXPECT_EQ(t[0][1][0][0].item<int>(), 255);
  EXPECT_EQ(t[0][1][1][0].item<int>(), 127);  // 127.5 truncated
  EXPECT_EQ(r[0][1][1][0].item<int>(), 128);  // round half to even: 128
  // Centered data maps [-1, 1] to [0, 255].
  EXPECT_EQ(to_uint8(at::full({1, 1, 1, 1}, 1.0), true, Quantize::kRound).item<int>(), 255);
  EXPECT_EQ(to_uint8(at::full({1, 1, 1, 1}, -1.0), true, Quantize::kRound).item<int>(), 0);
  // Channels move last: [1, 3, 1, 1] -> [1, 1, 1, 3] in channel order.
  const at::Tensor rgb =
      to_uint8(at::tensor({0.0f, 0.5f, 1.0f}).view({1, 3, 1, 1}), false, Quantize::kRound);
  EXPECT_EQ(rgb.sizes(), at::IntArrayRef({1, 1, 1, 3}));
  EXPECT_EQ(rgb[0][0][0][2].item<int>(), 255);
}

TEST(ImageGrid, TilesRowMajorWithEmptySlotsBlack) {
  // 3 images 2x2x1 with values 10, 20, 30; image 1 has 99 at row 0, column 1; 2 columns.
  at::Tensor images =
      at::stack({at::full({2, 2, 1}, 10), at::full({2, 2, 1}, 20), at::full({2, 2, 1}, 30)})
          .to(at::kByte);
  images[1][0][1][0] = 99;
  const at::Tensor grid = tile_images(images, 2);
  ASSERT_EQ(grid.sizes(), at::IntArrayRef({4, 4, 1}));
  EXPECT_EQ(grid[0][0][0].item<int>(), 10);
  EXPECT_EQ(grid[0][2][0].item<int>(), 20);  // image 1 starts at column 2
  EXPECT_EQ(grid[0][3][0].item<int>(), 99);  // its row 0, column 1
  EXPECT_EQ(grid[1][3][0].item<int>(), 20);
  EXPECT_EQ(grid[2][0][0].item<int>(), 30);  // image 2: second grid row
  EXPECT_EQ(grid[3][3][0].item<int>(), 0);   // the empty fourth slot
}

}  // namespace
}  // namespace sgm::data
