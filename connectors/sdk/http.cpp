#include "nurture/sdk/http.hpp"

#include <algorithm>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include <curl/curl.h>

namespace nurture::sdk::http {

std::string Response::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

namespace {

struct Transfer {
  Request request;
  std::function<void(Response)> done;
  Response response;
  curl_slist* header_list = nullptr;
  char error[CURL_ERROR_SIZE] = {0};
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  static_cast<Transfer*>(user)->response.body.append(data, size * count);
  return size * count;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::string line(data, size * count);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    const auto begin = value.find_first_not_of(" \t");
    const auto end = value.find_last_not_of(" \t\r\n");
    transfer->response.headers[name] = begin == std::string::npos ? "" : value.substr(begin, end - begin + 1);
  }
  return size * count;
}

}  // namespace

struct Client::Driver {
  CURLM* multi = curl_multi_init();
  std::mutex mutex;
  std::deque<std::unique_ptr<Transfer>> incoming;
  std::thread thread;

  Driver() { thread = std::thread([this] { run(); }); }

  void add(std::unique_ptr<Transfer> transfer) {
    {
      std::lock_guard lock(mutex);
      incoming.push_back(std::move(transfer));
    }
    curl_multi_wakeup(multi);
  }

  void start(Transfer* transfer) {
    CURL* easy = curl_easy_init();
    const Request& r = transfer->request;
    for (const auto& [name, value] : r.headers) {
      transfer->header_list = curl_slist_append(transfer->header_list, (name + ": " + value).c_str());
    }
    // No "Expect: 100-continue" round trip before a body.
    transfer->header_list = curl_slist_append(transfer->header_list, "Expect:");
    curl_easy_setopt(easy, CURLOPT_URL, r.url.c_str());
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    if (r.method != "GET") {
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r.body.data());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    }
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer->header_list);
    if (!r.basic_user.empty()) {
      curl_easy_setopt(easy, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
      curl_easy_setopt(easy, CURLOPT_USERNAME, r.basic_user.c_str());
      curl_easy_setopt(easy, CURLOPT_PASSWORD, r.basic_password.c_str());
    }
    curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(r.timeout.count()));
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, std::min<long>(static_cast<long>(r.timeout.count()), 10000));
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer);
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, transfer);
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->error);
    curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer);
    curl_multi_add_handle(multi, easy);
  }

  void run() {
    int running = 0;
    while (true) {
      std::deque<std::unique_ptr<Transfer>> batch;
      {
        std::lock_guard lock(mutex);
        batch.swap(incoming);
      }
      for (auto& transfer : batch) start(transfer.release());
      curl_multi_perform(multi, &running);
      int left = 0;
      while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
        if (message->msg != CURLMSG_DONE) continue;
        CURL* easy = message->easy_handle;
        Transfer* raw = nullptr;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &raw);
        std::unique_ptr<Transfer> transfer(raw);
        if (message->data.result == CURLE_OK) {
          curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &transfer->response.status);
        } else {
          transfer->response.error =
              transfer->error[0] ? transfer->error : curl_easy_strerror(message->data.result);
        }
        curl_multi_remove_handle(multi, easy);
        curl_easy_cleanup(easy);
        curl_slist_free_all(transfer->header_list);
        transfer->done(std::move(transfer->response));
      }
      curl_multi_poll(multi, nullptr, 0, 1000, nullptr);
    }
  }
};

Client::Client() : driver_(new Driver()) {}

Client& Client::shared() {
  // Lives as long as the process; the driver thread is detached at exit with it.
  static Client* client = [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    auto* c = new Client();
    c->driver_->thread.detach();
    return c;
  }();
  return *client;
}

void Client::perform(Request request, std::function<void(Response)> done) {
  auto transfer = std::make_unique<Transfer>();
  transfer->request = std::move(request);
  transfer->done = std::move(done);
  driver_->add(std::move(transfer));
}

std::chrono::milliseconds retry_after(const Response& response, std::chrono::milliseconds fallback) {
  const std::string value = response.header("retry-after");
  if (value.empty()) return fallback;
  if (std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return std::chrono::seconds(std::stoll(value));
  }
  std::tm tm{};
  if (strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) != nullptr) {
    const auto at = std::chrono::system_clock::from_time_t(timegm(&tm));
    const auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(at - std::chrono::system_clock::now());
    return std::max(delay, std::chrono::milliseconds(0));
  }
  return fallback;
}

Result classify(const Response& response, const std::string& provider_id, const std::string& provider) {
  if (response.status == 0) {
    return Result::retry(std::chrono::seconds(5), provider + ": " + response.error);
  }
  std::string excerpt = response.body.substr(0, 300);
  std::replace(excerpt.begin(), excerpt.end(), '\n', ' ');
  const std::string reason = provider + " HTTP " + std::to_string(response.status) + ": " + excerpt;
  if (response.status >= 200 && response.status < 300) return Result::sent(provider_id);
  if (response.status == 429 || response.status == 408 || response.status >= 500) {
    return Result::retry(retry_after(response, std::chrono::seconds(30)), reason);
  }
  return Result::failed(reason);
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += '&';
    char* n = curl_easy_escape(nullptr, name.data(), static_cast<int>(name.size()));
    char* v = curl_easy_escape(nullptr, value.data(), static_cast<int>(value.size()));
    out += n;
    out += '=';
    out += v;
    curl_free(n);
    curl_free(v);
  }
  return out;
}

}  // namespace nurture::sdk::http
