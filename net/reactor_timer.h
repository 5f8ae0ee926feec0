#pragma once
// A timer on one reactor's loop, for code that plugs into net (handlers, per-reactor
// services) without touching libuv. Armed, re-armed and cancelled on that reactor's
// thread. The libuv handle lives on the heap: the destructor closes it and the loop
// frees it, so a timer may be destroyed from its own callback. A timer must not
// outlive its reactor's loop: per-reactor services (Reactor::add_service), which the
// reactor destroys before closing its loop, are where long-lived timers belong.

#include <cstdint>
#include <functional>

namespace paystream::net {

class Reactor;

class ReactorTimer {
 public:
  ReactorTimer(Reactor& reactor, std::function<void()> on_fire);
  ReactorTimer(const ReactorTimer&) = delete;
  ReactorTimer& operator=(const ReactorTimer&) = delete;
  ~ReactorTimer();

  // Fires after `delay_ms` counted from now (the loop's clock is refreshed first),
  // then every `repeat_ms` when that is not 0. Re-arming replaces the previous arming.
  void start(uint64_t delay_ms, uint64_t repeat_ms = 0);
  void stop();
  // A timer that alone does not keep the loop running (a background poller).
  void set_background();

 private:
  struct Handle;
  Handle* handle_;
};

}  // namespace paystream::net
