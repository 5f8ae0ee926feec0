#include "svc/secret_watch.h"

#include "base/clock.h"
#include "net/log.h"
#include "svc/secret_file.h"

namespace paystream::svc {

SecretWatch* SecretWatch::start(std::string name, std::string path, net::Reactor& reactor) {
  core::SecretLoadResult loaded =
      core::SecretReloader::load(secret_file_access(path), base::unix_now_ms());
  if (!loaded.reloader) {
    net::log::error("cannot load secret file")
        .str("secret", name)
        .str("path", path)
        .str("error", core::secret_problem_message(*loaded.problem));
    return nullptr;
  }
  SecretWatch& watch = reactor.add_service<SecretWatch>(std::move(name), std::move(path),
                                                        std::move(*loaded.reloader));
  net::log::info("secret loaded")
      .str("secret", watch.name_)
      .str("fingerprint", watch.fingerprint());
  return &watch;
}

SecretWatch::SecretWatch(net::Reactor& reactor, std::string name, std::string path,
                         core::SecretReloader reloader)
    : name_(std::move(name)),
      path_(std::move(path)),
      reloader_(std::move(reloader)),
      timer_(reactor, [this] { poll(); }) {
  timer_.set_background();  // never what keeps the loop alive
  timer_.start(core::SecretReloader::kRecheckIntervalMs, core::SecretReloader::kRecheckIntervalMs);
}

void SecretWatch::on_change(std::function<void(std::string_view)> publish) {
  publish_ = std::move(publish);
  publish_(reloader_.expose_for_processor());
}

void SecretWatch::poll() {
  const core::SecretPollEvent event = reloader_.poll(base::unix_now_ms());
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
      if (publish_) publish_(reloader_.expose_for_processor());
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
