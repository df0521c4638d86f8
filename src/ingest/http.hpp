#pragma once
// HTTP for the live sources (docs/ingest.md, "Live sources"), through libcurl: one request
// whose answer goes to a file, so that a long answer is never held in memory.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

#include "apportion/config.hpp"

APPORTION_BEGIN_NAMESPACE
namespace ingest {

// Whether this build can fetch (it was built with libcurl).
bool http_available() noexcept;

struct HttpRequest {
  std::string url;                          // with its query string
  std::string form;                         // a POST body; empty: GET
  std::string content_type = "application/x-www-form-urlencoded";  // of the POST body
  std::optional<std::string> bearer_token;  // sent as `Authorization: Bearer ...`
  std::string ca_file;                      // empty: the system's certificates
  std::chrono::milliseconds timeout{120'000};  // Prometheus's own query timeout
  unsigned retries = 3;                     // more tries after a connection error, a 429 or a 5xx
  std::chrono::milliseconds backoff{500};   // before the first retry; doubled each time, at most 8 s
  std::uint64_t max_bytes = 0;              // 0: no limit
};

struct HttpAnswer {
  long status = 0;
  std::uint64_t bytes = 0;
};

// The connection failed (after its retries) or the answer passed max_bytes: the message
// names `shown` (the address without credentials) and says what libcurl saw.
class HttpError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Sends `request` and writes the body of the last answer to `file` (emptied before each
// try). Retries connection errors, 429 and 5xx answers, waiting `backoff` and then twice as
// long each time. Any status is returned; only a failed connection (or a body beyond
// max_bytes, a cut-short body, a timeout) throws.
HttpAnswer http_fetch(const HttpRequest& request, const std::filesystem::path& file, const std::string& shown);

// A folder of its own under the system's temporary folder, removed with everything in it:
// where answers are written, so a long one is never held in memory.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::filesystem::path file(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// `text` percent-encoded for a query string or a form (RFC 3986 unreserved kept).
std::string url_encode(std::string_view text);

}  // namespace ingest
APPORTION_END_NAMESPACE
