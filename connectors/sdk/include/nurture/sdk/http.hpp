#pragma once
// HTTP for connectors, installed with the SDK (link nurture::connector_http): one libcurl multi driver on one
// thread serves every request of every connector in the process (no thread per request), so a slow provider does
// not hold up the others; and the mapping of an HTTP answer to a Result that every HTTP connector wants.
// Completion callbacks run on the driver thread and must be quick.

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "nurture/sdk/connector.hpp"

namespace nurture::sdk::http {

struct Request {
  std::string method = "POST";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string basic_user, basic_password;  // HTTP Basic auth when basic_user is set
  std::chrono::milliseconds timeout{30000};
};

struct Response {
  long status = 0;                             // 0: no HTTP answer (see `error`)
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string error;                           // transport error: refused, timeout, TLS...
  std::string header(const std::string& lower_name) const;
};

class Client {
 public:
  // The process-wide driver, started on first use.
  static Client& shared();
  void perform(Request request, std::function<void(Response)> done);

  struct Driver;
 private:
  Client();
  Driver* driver_;
};

// The mapping of an HTTP answer: 2xx sent, 408/429/5xx and transport errors retry (honouring
// Retry-After, in seconds or as an HTTP date), other 4xx failed.
Result classify(const Response& response, const std::string& provider_id, const std::string& provider);

// Retry-After (seconds or HTTP date) as a delay; `fallback` when absent or unreadable.
std::chrono::milliseconds retry_after(const Response& response, std::chrono::milliseconds fallback);

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace nurture::sdk::http
