// Under mpirun -np 2: the two ranks' batches, gathered, equal the single-rank stream exactly.
#include <unistd.h>

#include <filesystem>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "data/dataset_writer.h"
#include "data/loader.h"
#include "trainer/dist/check_mpi.h"
#include "trainer/dist/context.h"
#include "trainer/dist/mpi_comm.h"

namespace sgm::data {
namespace {

TEST(LoaderMpi, GatheredRankBatchesEqualTheSingleRankStream) {
  dist::ContextOptions co;
  co.device = "cpu";
  dist::Context context(co);
  ASSERT_EQ(context.world_size(), 2) << "run under mpirun -np 2";
  MPI_Comm comm = dist::world_comm(context);
  // Rank 0 writes the dataset and tells the other rank where.
  char path[512] = {0};
  if (context.is_main()) {
    const std::string dir = (std::filesystem::temp_directory_path() / fmt::format("sgm-loader-mpi-{}", ::getpid())).string();
    at::manual_seed(1);
    WriteOptions o;
    o.num_shards = 3;
    o.num_classes = 4;
    write_dataset(dir, at::randint(0, 256, {40, 8, 8, 3}, at::kByte), at::randint(0, 4, {40}, at::kInt), o);
    dir.copy(path, sizeof(path) - 1);
  }
  SGM_CHECK_MPI(MPI_Bcast(path, sizeof(path), MPI_CHAR, 0, comm));
  auto dataset = std::make_shared<ShardedDataset>(path);
  LoaderOptions o;
  o.global_batch = 12;
  o.rank = context.rank();
  o.world_size = 2;
  o.uniform_dequantization = true;
  o.in_memory = false;
  Loader mine(dataset, o);
  LoaderOptions single_options = o;
  single_options.rank = 0;
  single_options.world_size = 1;
  Loader single(dataset, single_options);
  for (int step = 0; step < 5; ++step) {  // 36 positions per epoch: crosses into epoch 1
    Batch b = mine.next();
    Batch reference = single.next();
    at::Tensor gathered = at::empty({12, 3, 8, 8}, at::kFloat);
    const int count = static_cast<int>(b.images.numel());
    SGM_CHECK_MPI(MPI_Allgather(b.images.data_ptr(), count, MPI_FLOAT, gathered.data_ptr(), count, MPI_FLOAT, comm));
    EXPECT_TRUE(at::equal(gathered, reference.images)) << "step " << step << " rank " << context.rank();
  }
  if (context.is_main()) std::printf("[evidence] 5 global batches: ranks 0+1 of 2 equal the single-rank stream (exact)\n");
  SGM_CHECK_MPI(MPI_Barrier(comm));
  if (context.is_main()) std::filesystem::remove_all(path);
}

}  // namespace
}  // namespace sgm::data
