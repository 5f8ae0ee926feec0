#pragma once
// SIGTERM and SIGINT from the first line of main: a signal that arrives before the
// server's loop watches for it is remembered and starts the drain once it does,
// instead of killing the process with its listen backlog unanswered.

namespace paystream::net {

// Call first in main, before any thread exists. Installs a handler that records
// the signal and unblocks both signals (a supervisor may start us with them
// blocked; a signal pending from then is delivered now and recorded).
void catch_termination_signals();

// The signal recorded before the server took over (SIGTERM or SIGINT), or 0.
// Clears it.
int take_early_termination_signal();

}  // namespace paystream::net
