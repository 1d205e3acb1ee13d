// SPDX-License-Identifier: Apache-2.0
#pragma once
// The Communicator over MPI's world (Open MPI from Debian's libopenmpi-dev). Declared always,
// defined only when CMake found MPI (LONGTAIL_TRAIN_HAVE_MPI); communicator.cpp calls it only then.

#include <memory>

#include "distributed/communicator.hpp"

namespace longtail_train {

/// MPI_Init_thread(FUNNELED) on MPI_COMM_WORLD with errors returned as exceptions
/// (std::runtime_error naming the call and MPI's message); MPI_Finalize on destruction.
std::unique_ptr<Communicator> make_mpi_communicator(int& argc, char**& argv);

}  // namespace longtail_train
