#include "svc/secret_watch.h"

#include "net/clock.h"
#include "net/log.h"
#include "svc/secret_file.h"

namespace paystream::svc {

std::unique_ptr<SecretWatch> SecretWatch::start(std::string name, std::string path,
                                                uv_loop_t* loop) {
  core::SecretLoadResult loaded =
      core::SecretReloader::load(secret_file_access(path), net::unix_now_ms());
  if (!loaded.reloader) {
    net::log::error("cannot load secret file")
        .str("secret", name)
        .str("path", path)
        .str("error", core::secret_problem_message(*loaded.problem));
    return nullptr;
  }
  std::unique_ptr<SecretWatch> watch(
      new SecretWatch(std::move(name), std::move(path), std::move(*loaded.reloader)));
  watch->arm(loop);
  net::log::info("secret loaded")
      .str("secret", watch->name_)
      .str("fingerprint", watch->fingerprint());
  return watch;
}

SecretWatch::SecretWatch(std::string name, std::string path, core::SecretReloader reloader)
    : name_(std::move(name)), path_(std::move(path)), reloader_(std::move(reloader)) {}

void SecretWatch::arm(uv_loop_t* loop) {
  uv_timer_init(loop, &timer_);
  timer_.data = this;
  uv_timer_start(
      &timer_, [](uv_timer_t* t) { static_cast<SecretWatch*>(t->data)->poll(); },
      core::SecretReloader::kRecheckIntervalMs, core::SecretReloader::kRecheckIntervalMs);
  uv_unref(reinterpret_cast<uv_handle_t*>(&timer_));  // never what keeps the loop alive
  uv_fs_poll_init(loop, &fs_poll_);
  fs_poll_.data = this;
  uv_fs_poll_start(
      &fs_poll_,
      [](uv_fs_poll_t* h, int, const uv_stat_t*, const uv_stat_t*) {
        static_cast<SecretWatch*>(h->data)->poll();
      },
      path_.c_str(), static_cast<unsigned>(core::SecretReloader::kRecheckIntervalMs));
  uv_unref(reinterpret_cast<uv_handle_t*>(&fs_poll_));
}

void SecretWatch::poll() {
  const core::SecretPollEvent event = reloader_.poll(net::unix_now_ms());
  switch (event) {
    case core::SecretPollEvent::not_due:
    case core::SecretPollEvent::unchanged:
      return;
    case core::SecretPollEvent::rotated:
    case core::SecretPollEvent::recovered:
      net::log::info("secret file re-read")
          .str("secret", name_)
          .str("event", core::secret_poll_event_name(event))
          .str("fingerprint", fingerprint());
      return;
    case core::SecretPollEvent::unreadable:
    case core::SecretPollEvent::empty:
      // Once per outage; the last good secret stays in use (never fall open).
      if (reloader_.consecutive_failures() == 1) {
        net::log::error("secret file unusable: keeping the last good value")
            .str("secret", name_)
            .str("path", path_)
            .str("event", core::secret_poll_event_name(event));
      }
      return;
  }
}

}  // namespace paystream::svc
