#pragma once
// A secret file kept current on the admin reactor: a 1 s timer drives
// core::SecretReloader, so a rotation (Kubernetes' `..data` symlink swap) is in
// force within about a second. Logs rotations and failures by fingerprint, never
// the secret. A service of the admin reactor, used only on its thread.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/secret_reload.h"
#include "net/reactor.h"
#include "net/reactor_timer.h"

namespace paystream::svc {

class SecretWatch final : public net::ReactorService {
 public:
  // Reads the file now and adds the watch to `reactor`. Null (after logging why)
  // when it is missing, unreadable or empty: the caller stops start-up with exit code 2.
  static SecretWatch* start(std::string name, std::string path, net::Reactor& reactor);

  SecretWatch(net::Reactor& reactor, std::string name, std::string path,
              core::SecretReloader reloader);

  bool matches(std::string_view presented) const { return reloader_.matches(presented); }
  // Calls `publish` with the secret now and after each rotation, on this reactor's thread
  // (for the one consumer that must send the secret: the processor client).
  void on_change(std::function<void(std::string_view)> publish);
  const std::string& fingerprint() const { return reloader_.fingerprint(); }
  uint64_t last_changed_unix_ms() const { return reloader_.last_changed_ms(); }

 private:
  void poll();

  std::string name_;
  std::string path_;
  core::SecretReloader reloader_;
  std::function<void(std::string_view)> publish_;
  net::ReactorTimer timer_;
};

}  // namespace paystream::svc
