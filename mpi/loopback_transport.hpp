// An in-process cluster: N ranks as threads of one process, each talking through its own
// LoopbackTransport to one shared hub. It runs the coordinator and the workers exactly as MPI
// does (same messages, same per-destination order, receive with a timeout), so the distributed
// sweep is tested under ctest, sanitizers included, without mpirun. abort() throws
// LoopbackAbort instead of ending the process.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/bounded_queue.hpp"
#include "mpi/transport.hpp"

namespace threadx::dist {

struct LoopbackAbort : std::runtime_error {
  explicit LoopbackAbort(int code)
      : std::runtime_error("loopback job aborted with exit code " + std::to_string(code)),
        exit_code(code) {}
  int exit_code;
};

class LoopbackHub {
 public:
  explicit LoopbackHub(int ranks) {
    if (ranks < 1) throw std::invalid_argument("LoopbackHub: at least one rank");
    for (int r = 0; r < ranks; ++r) {
      boxes_.push_back(std::make_unique<Box>(Box::kUnbounded));
      transports_.push_back(std::make_unique<Rank>(*this, r));
    }
  }
  [[nodiscard]] int size() const { return static_cast<int>(boxes_.size()); }
  // The transport of rank r (use it from that rank's thread).
  Transport& rank(int r) { return *transports_.at(static_cast<std::size_t>(r)); }

 private:
  using Box = BoundedQueue<Message>;  // a rank's mailbox (unbounded)
  class Rank final : public Transport {
   public:
    Rank(LoopbackHub& hub, int rank) : hub_(hub), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return hub_.size(); }
    int local_size() const override { return hub_.size(); }
    void send(int dest, Tag tag, std::vector<std::byte> data) override {
      hub_.boxes_.at(static_cast<std::size_t>(dest))->push(Message{rank_, tag, std::move(data)});
    }
    std::optional<Message> receive(std::chrono::microseconds wait) override {
      return hub_.boxes_[static_cast<std::size_t>(rank_)]->take_one(wait);
    }
    void drain() override {}
    [[noreturn]] void abort(int exit_code) override { throw LoopbackAbort(exit_code); }

   private:
    LoopbackHub& hub_;
    int rank_;
  };

  std::vector<std::unique_ptr<Box>> boxes_;
  std::vector<std::unique_ptr<Rank>> transports_;
};

}  // namespace threadx::dist
