// The MPI implementation of Transport, and the decision whether this process is one rank of an
// MPI job at all. This header does not include mpi.h: the engine and the CLI only see Transport.
#pragma once

#include <memory>

#include "mpi/transport.hpp"

namespace threadx::dist {

// True when a launcher (mpirun, srun --mpi=pmix) started this process as a rank of a job.
bool launched_by_mpi();

// MPI_Init_thread (funneled: only the thread that called this talks MPI) on construction,
// MPI_Finalize when destroyed. Throws if MPI cannot start.
std::unique_ptr<Transport> make_mpi_transport();

// An MPI transport when launched by MPI, a one-rank SoloTransport otherwise. A job started by
// srun with several tasks but without an MPI plugin is refused (each task would run the whole
// sweep into the same file).
std::unique_ptr<Transport> connect();

}  // namespace threadx::dist
