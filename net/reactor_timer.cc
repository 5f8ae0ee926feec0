#include "net/reactor_timer.h"

#include <uv.h>

#include "net/reactor.h"

namespace paystream::net {

struct ReactorTimer::Handle {
  uv_timer_t timer;
  std::function<void()> on_fire;
};

ReactorTimer::ReactorTimer(Reactor& reactor, std::function<void()> on_fire)
    : handle_(new Handle{{}, std::move(on_fire)}) {
  uv_timer_init(reactor.loop(), &handle_->timer);
  handle_->timer.data = handle_;
}

ReactorTimer::~ReactorTimer() {
  uv_close(reinterpret_cast<uv_handle_t*>(&handle_->timer),
           [](uv_handle_t* h) { delete static_cast<Handle*>(h->data); });
}

void ReactorTimer::start(uint64_t delay_ms, uint64_t repeat_ms) {
  uv_update_time(handle_->timer.loop);
  uv_timer_start(
      &handle_->timer, [](uv_timer_t* t) { static_cast<Handle*>(t->data)->on_fire(); }, delay_ms,
      repeat_ms);
}

void ReactorTimer::stop() {
  uv_timer_stop(&handle_->timer);
}

void ReactorTimer::set_background() {
  uv_unref(reinterpret_cast<uv_handle_t*>(&handle_->timer));
}

}  // namespace paystream::net
