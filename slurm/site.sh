# shellcheck shell=bash
# ============================================================================================
#  SITE-SPECIFIC SETTINGS: the one place to edit for your cluster. Everything else in slurm/
#  works unchanged. Sourced by pipeline.sh (before sbatch) and by train.sbatch and
#  eval_sweep.sbatch (inside the job, on the compute node).
# ============================================================================================

# Submission: sbatch reads these input variables (man sbatch, "INPUT ENVIRONMENT VARIABLES").
# Set the ones your site needs; an unset or empty value leaves sbatch's default.
# export SBATCH_PARTITION=gpu
# export SBATCH_ACCOUNT=my_project
# export SBATCH_QOS=normal

# Launcher of the ranks inside an allocation: srun (srun --mpi=pmix; needs Slurm built with
# PMIx, see `srun --mpi=list`) or mpirun (Open MPI's mpirun inside the allocation).
SGM_LAUNCHER=${SGM_LAUNCHER:-srun}

# The job's environment on the compute node: modules, library paths, NCCL settings.
sgm_site_env() {
  # module load cuda/13.0 openmpi/4.1 hdf5/1.12
  # export NCCL_SOCKET_IFNAME=ib0        # the interface between nodes
  # export NCCL_IB_HCA=mlx5              # InfiniBand adapters
  # export HDF5_USE_FILE_LOCKING=FALSE   # sgm already opens shards without locks
  :
}
