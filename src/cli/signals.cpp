// SIGINT/SIGTERM/SIGUSR1 handling for long sweeps (see commands.hpp).
#include <csignal>
#include <cstdlib>

#include <unistd.h>

#include "cli/commands.hpp"

namespace threadx {
namespace {

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the flag is set from a signal handler");

extern "C" void on_stop_signal(int sig) {
  // Repeated SIGTERM/SIGUSR1 are one request: SLURM signals every process of a job and srun or
  // mpirun forward the signal again, so a rank often gets it twice; its SIGKILL after KillWait is
  // the hard stop. Only a SIGINT while stopping (Ctrl-C twice) means "out now".
  if (g_stop.exchange(true) && sig == SIGINT) {
    // Rows already flagged done are safe on disk; the units in flight are lost and will be
    // recomputed by --resume.
    static const char msg[] = "threadx: second signal, exiting immediately\n";
    const ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    ::_exit(128 + sig);
  }
}

}  // namespace

std::atomic<bool>& stop_flag() {
  return g_stop;
}

void install_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGUSR1}) sigaction(sig, &sa, nullptr);
}

void ignore_stop_signals() {
  for (int sig : {SIGINT, SIGTERM, SIGUSR1}) std::signal(sig, SIG_IGN);
}

}  // namespace threadx
