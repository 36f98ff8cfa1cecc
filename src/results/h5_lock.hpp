// The HDF5 library is not thread-safe (Debian's builds are not made with --enable-threadsafe):
// threads of one process that may call it at the same time (rank 0's results-file writer and its
// part-file writer, --write-path ranks) hold this mutex around their calls. No HDF5 header here,
// so that the threads' owners (mpi/) need none.
#pragma once

#include <mutex>

namespace threadx::h5 {

std::mutex& library_mutex();

}  // namespace threadx::h5
