#include "net/termination_signals.h"

#include <signal.h>

namespace paystream::net {
namespace {

volatile sig_atomic_t early_signal = 0;

void record(int signum) {
  early_signal = signum;
}

}  // namespace

void catch_termination_signals() {
  struct sigaction action {};
  action.sa_handler = record;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  sigset_t both;
  sigemptyset(&both);
  sigaddset(&both, SIGTERM);
  sigaddset(&both, SIGINT);
  sigprocmask(SIG_UNBLOCK, &both, nullptr);
}

int take_early_termination_signal() {
  const int signum = early_signal;
  early_signal = 0;
  return signum;
}

}  // namespace paystream::net
