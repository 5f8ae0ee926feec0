#pragma once
// A secret file kept current on the admin loop: a 1 s timer and uv_fs_poll both
// drive core::SecretReloader (the poll notices Kubernetes' `..data` symlink swap
// quickly; the timer re-reads at least every second). Logs rotations and
// failures by fingerprint, never the secret. Used only on the admin thread.

#include <uv.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/secret_reload.h"

namespace paystream::svc {

class SecretWatch {
 public:
  // Reads the file now. nullopt (after logging why) when it is missing, unreadable
  // or empty: the caller stops start-up with exit code 2.
  static std::unique_ptr<SecretWatch> start(std::string name, std::string path, uv_loop_t* loop);

  SecretWatch(const SecretWatch&) = delete;
  SecretWatch& operator=(const SecretWatch&) = delete;
  // No destructor work: a watch outlives its loop's last iteration (the service
  // destroys it after the server), and its handles are unreferenced.

  bool matches(std::string_view presented) const { return reloader_.matches(presented); }
  const std::string& fingerprint() const { return reloader_.fingerprint(); }
  uint64_t last_changed_unix_ms() const { return reloader_.last_changed_ms(); }

 private:
  SecretWatch(std::string name, std::string path, core::SecretReloader reloader);
  void arm(uv_loop_t* loop);
  void poll();

  std::string name_;
  std::string path_;
  core::SecretReloader reloader_;
  uv_timer_t timer_;
  uv_fs_poll_t fs_poll_;
};

}  // namespace paystream::svc
