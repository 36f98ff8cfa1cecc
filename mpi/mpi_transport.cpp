// MpiTransport: Transport over MPI point-to-point messages (see mpi_transport.hpp).
#include "mpi/mpi_transport.hpp"

#include <chrono>
#include <cstdlib>
#include <limits>
#include <list>
#include <stdexcept>
#include <string>
#include <thread>

#include <mpi.h>

#include "common/error.hpp"

namespace threadx::dist {
namespace {

void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {};
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw std::runtime_error(std::string(what) + ": " + text);
}

class MpiTransport final : public Transport {
 public:
  MpiTransport() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized == 0) {
      int provided = 0;
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      owns_mpi_ = true;
      if (provided < MPI_THREAD_FUNNELED)
        throw std::runtime_error("MPI does not provide MPI_THREAD_FUNNELED");
    }
    check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    MPI_Comm node;
    check(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
          "MPI_Comm_split_type");
    MPI_Comm_size(node, &local_size_);
    MPI_Comm_free(&node);
  }
  ~MpiTransport() override {
    try {
      drain();
    } catch (...) {  // nothing sensible to do while ending
    }
    MPI_Comm_free(&comm_);
    if (owns_mpi_) MPI_Finalize();
  }
  MpiTransport(const MpiTransport&) = delete;
  MpiTransport& operator=(const MpiTransport&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_size() const override { return local_size_; }

  void send(int dest, Tag tag, std::vector<std::byte> data) override {
    if (data.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
      throw std::runtime_error("message larger than 2 GB");
    pending_.push_back({std::move(data), MPI_REQUEST_NULL});
    Pending& p = pending_.back();
    check(MPI_Isend(p.data.data(), static_cast<int>(p.data.size()), MPI_BYTE, dest,
                    static_cast<int>(tag), comm_, &p.request),
          "MPI_Isend");
    reap();
  }

  std::optional<Message> receive(std::chrono::microseconds wait) override {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      reap();
      int flag = 0;
      MPI_Status status;
      check(MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm_, &flag, &status), "MPI_Iprobe");
      if (flag != 0) {
        int count = 0;
        MPI_Get_count(&status, MPI_BYTE, &count);
        Message m;
        m.source = status.MPI_SOURCE;
        m.tag = static_cast<Tag>(status.MPI_TAG);
        m.data.resize(static_cast<std::size_t>(count));
        check(MPI_Recv(m.data.data(), count, MPI_BYTE, status.MPI_SOURCE, status.MPI_TAG, comm_,
                       MPI_STATUS_IGNORE),
              "MPI_Recv");
        return m;
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      // Sleep rather than spin: ranks share cores with compute threads (and are oversubscribed
      // on small machines); 200 us is far below a unit's time.
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }

  void drain() override {
    for (Pending& p : pending_) check(MPI_Wait(&p.request, MPI_STATUS_IGNORE), "MPI_Wait");
    pending_.clear();
  }

  [[noreturn]] void abort(int exit_code) override {
    MPI_Abort(comm_, exit_code);
    std::_Exit(exit_code);
  }

 private:
  struct Pending {
    std::vector<std::byte> data;
    MPI_Request request;
  };
  // Frees the buffers of sends that have completed.
  void reap() {
    for (auto it = pending_.begin(); it != pending_.end();) {
      int done = 0;
      check(MPI_Test(&it->request, &done, MPI_STATUS_IGNORE), "MPI_Test");
      it = done != 0 ? pending_.erase(it) : std::next(it);
    }
  }

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1, local_size_ = 1;
  bool owns_mpi_ = false;
  std::list<Pending> pending_;  // stable addresses while MPI owns the buffers
};

bool env_set(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0';
}

}  // namespace

bool launched_by_mpi() {
  // mpirun (OpenMPI) and PMIx launchers such as srun --mpi=pmix set these.
  return env_set("OMPI_COMM_WORLD_SIZE") || env_set("PMIX_RANK") || env_set("PMI_RANK");
}

std::unique_ptr<Transport> make_mpi_transport() {
  return std::make_unique<MpiTransport>();
}

std::unique_ptr<Transport> connect() {
  if (launched_by_mpi()) return make_mpi_transport();
  const char* ntasks = std::getenv("SLURM_STEP_NUM_TASKS");
  if (ntasks != nullptr && std::atoi(ntasks) > 1)
    throw InputError(
        "started by srun as one of " + std::string(ntasks) +
        " tasks without MPI: use `srun --mpi=pmix ...` (or mpirun) so the tasks form one job");
  return std::make_unique<SoloTransport>();
}

}  // namespace threadx::dist
