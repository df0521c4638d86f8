#include "http.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

#if APPORTION_HTTP
#include <curl/curl.h>
#endif

APPORTION_BEGIN_NAMESPACE
namespace ingest {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "apportion-live-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("cannot make a temporary folder under " + pattern);
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string url_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

#if APPORTION_HTTP

bool http_available() noexcept { return true; }

namespace {

struct Body {
  std::FILE* file;
  std::uint64_t bytes = 0;
  std::uint64_t max_bytes = 0;
  bool too_long = false;
};

std::size_t write_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto& body = *static_cast<Body*>(user);
  const std::size_t n = size * count;
  if (body.max_bytes && body.bytes + n > body.max_bytes) {
    body.too_long = true;
    return 0;  // libcurl stops with CURLE_WRITE_ERROR
  }
  body.bytes += n;
  return std::fwrite(data, 1, n, body.file);
}

// The errors worth another try: the server may be starting, restarting or overloaded.
bool transient(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return true;
    default: return false;
  }
}

}  // namespace

HttpAnswer http_fetch(const HttpRequest& request, const std::filesystem::path& file, const std::string& shown) {
  static std::once_flag initialised;
  std::call_once(initialised, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  const std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) throw HttpError(shown + ": cannot start an HTTP client (libcurl)");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(nullptr, &curl_slist_free_all);
  const auto add_header = [&](const std::string& h) {
    curl_slist* grown = curl_slist_append(headers.get(), h.c_str());
    if (!grown) throw std::bad_alloc();
    headers.release();
    headers.reset(grown);
  };
  add_header("Accept: application/json");
  if (request.bearer_token) add_header("Authorization: Bearer " + *request.bearer_token);
  if (!request.form.empty()) add_header("Content-Type: " + request.content_type);
  char error[CURL_ERROR_SIZE] = {};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<long long>(request.timeout.count(), 10'000)));
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");  // whatever libcurl can decode (gzip)
  curl_easy_setopt(c, CURLOPT_USERAGENT, "apportion/" APPORTION_VERSION_STRING);
  // Never follow a redirect: it would carry the token elsewhere.
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  if (!request.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, request.ca_file.c_str());
  if (!request.form.empty()) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.form.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.form.size()));
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &write_body);

  std::chrono::milliseconds wait = request.backoff;
  const auto back_off = [&wait] {
    std::this_thread::sleep_for(wait);
    wait = std::min(wait * 2, std::chrono::milliseconds(8'000));
  };
  for (unsigned attempt = 0;; ++attempt) {
    const std::unique_ptr<std::FILE, decltype(&std::fclose)> out(std::fopen(file.c_str(), "wb"), &std::fclose);
    if (!out) throw HttpError(shown + ": cannot write the answer to a temporary file " + file.string());
    Body body{out.get(), 0, request.max_bytes};
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    error[0] = '\0';
    const CURLcode code = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    const bool last = attempt >= request.retries;
    if (code == CURLE_OK) {
      if ((status == 429 || status >= 500) && !last) {
        back_off();
        continue;
      }
      if (std::fflush(out.get()) != 0) throw HttpError(shown + ": cannot write the answer to " + file.string());
      return HttpAnswer{status, body.bytes};
    }
    if (body.too_long)
      throw HttpError(shown + ": the answer is longer than " + std::to_string(request.max_bytes) + " bytes");
    if (!transient(code) || last) {
      std::string what = error[0] ? error : curl_easy_strerror(code);
      // libcurl says how long it tried ("... port 1 after 0 ms: ..."): left out, so that one
      // failure gives one message.
      if (const auto at = what.find(" after "); at != std::string::npos) {
        const auto ms = what.find(" ms", at);
        if (ms != std::string::npos && what.find_first_not_of("0123456789", at + 7) == ms) what.erase(at, ms + 3 - at);
      }
      const std::string tries = attempt == 0 ? "" : " (after " + std::to_string(attempt + 1) + " tries)";
      throw HttpError(shown + ": " + what + tries);
    }
    back_off();
  }
}

#else

bool http_available() noexcept { return false; }

HttpAnswer http_fetch(const HttpRequest&, const std::filesystem::path&, const std::string& shown) {
  throw HttpError(shown + ": this build of apportion reads no live sources (it was built without libcurl; "
                          "install libcurl4-openssl-dev and build again)");
}

#endif

}  // namespace ingest
APPORTION_END_NAMESPACE
