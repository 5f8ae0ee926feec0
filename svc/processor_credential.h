#pragma once
// The processor API key (PROCESSOR_API_KEY_FILE) as every reactor sends it. The admin
// reactor's SecretWatch publishes each new value; a reactor copies it only when the
// generation moved (one acquire load per call), so a rotation reaches the next call on
// every reactor without touching the connection pool.

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace paystream::svc {

class ProcessorCredential {
 public:
  // Any thread.
  void publish(std::string_view key) {
    std::lock_guard lock(mutex_);
    authorization_.assign("Bearer ").append(key);
    generation_.store(generation_.load(std::memory_order_relaxed) + 1, std::memory_order_release);
  }

  // Replaces `authorization` with the current `Authorization` header value when a newer key
  // was published than `seen`. An empty value: no key published.
  void refresh(uint64_t& seen, std::string& authorization) const {
    if (generation_.load(std::memory_order_acquire) == seen) return;
    std::lock_guard lock(mutex_);
    authorization = authorization_;
    seen = generation_.load(std::memory_order_relaxed);
  }

 private:
  mutable std::mutex mutex_;
  std::string authorization_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace paystream::svc
