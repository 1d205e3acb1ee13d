// SPDX-License-Identifier: Apache-2.0
#include "distributed/communicator.hpp"

#include <cstdlib>
#include <iostream>
#include <stdexcept>

#include "distributed/mpi_communicator.hpp"

namespace longtail_train {

void SingleProcess::abort(int exit_code, const std::string& message) {
  std::cerr << "longtail-train: " << message << std::endl;
  std::exit(exit_code);
}

bool built_with_mpi() {
#ifdef LONGTAIL_TRAIN_HAVE_MPI
  return true;
#else
  return false;
#endif
}

bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(name)) return true;
  return false;
}

std::unique_ptr<Communicator> make_communicator(int& argc, char**& argv) {
  if (!launched_by_mpi()) return std::make_unique<SingleProcess>();
#ifdef LONGTAIL_TRAIN_HAVE_MPI
  return make_mpi_communicator(argc, argv);
#else
  (void)argc;
  (void)argv;
  throw std::runtime_error(
      "this process was started by an MPI launcher (mpirun / mpiexec / srun), but this longtail-train was "
      "built without MPI, so every rank would run the whole job alone; install libopenmpi-dev and rebuild "
      "(CMake finds it: -DLONGTAIL_MPI=ON makes it required), or run without mpirun");
#endif
}

}  // namespace longtail_train
