// The message layer of a distributed sweep, as a small facade (LightGBM's network.h idea): the
// coordinator and workers talk through it, MPI implements it (mpi_transport.cpp), and a single
// process is the one-rank case with nobody to talk to. Nothing here includes mpi.h.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "common/bytes.hpp"

namespace threadx::dist {

enum class Tag : int {
  Hello = 1,    // worker -> 0 at start: host, pid, threads, load error (if any)
  Start,        // 0 -> worker: go (or abort with an exit code)
  Request,      // worker -> 0: wants N more units
  Grant,        // 0 -> worker: units (and whether the work is all handed out)
  Result,       // worker -> 0: one finished unit's rows
  StopRequest,  // worker -> 0: this rank was signalled
  Stop,         // 0 -> worker: finish the units running, drop the rest, say goodbye
  Bye,          // worker -> 0: accounting; the worker sends nothing after it
  Release,      // 0 -> worker, after every Bye: nothing more will be sent, the rank may end
  // worker -> 0, `threadx robust`: its rows' partial results (robust_gather.hpp), in pieces
  RobustPartial,
  // worker -> 0: its summary of the units it finished since the last one (SweepSummary delta)
  Summary,
};

struct Message {
  int source = -1;
  Tag tag{};
  std::vector<std::byte> data;
};

class Transport {
 public:
  virtual ~Transport() = default;
  [[nodiscard]] virtual int rank() const = 0;
  [[nodiscard]] virtual int size() const = 0;
  // Ranks on this rank's node (this one included), for the default thread count.
  [[nodiscard]] virtual int local_size() const = 0;
  // Asynchronous; messages to one destination arrive in the order sent.
  virtual void send(int dest, Tag tag, std::vector<std::byte> data) = 0;
  // A message from any rank, waiting up to `wait` for one.
  virtual std::optional<Message> receive(std::chrono::microseconds wait) = 0;
  // Waits until every message sent has left this process (before the process ends).
  virtual void drain() = 0;
  // Ends every rank of the job (a rank is lost or hung); does not return.
  [[noreturn]] virtual void abort(int exit_code) = 0;
};

// The one-rank "cluster" of a run without MPI.
class SoloTransport final : public Transport {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_size() const override { return 1; }
  void send(int, Tag, std::vector<std::byte>) override {
    throw std::logic_error("SoloTransport: there is no other rank");
  }
  std::optional<Message> receive(std::chrono::microseconds) override { return std::nullopt; }
  void drain() override {}
  [[noreturn]] void abort(int exit_code) override { std::_Exit(exit_code); }
};

// Message bodies are written and read with common/bytes.hpp's Writer and Reader.

}  // namespace threadx::dist
