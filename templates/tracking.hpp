#pragma once
// Tracking links in emails (spec/templates.md), and the interface the tracking endpoints verify them with.
//
//   click        {base_url}/c/{action_id}/{sig}?u={percent-encoded target URL}
//   open pixel   {base_url}/o/{action_id}/{sig}.gif
//   unsubscribe  {base_url}/u/{action_id}/{sig}        (GET: a page; POST: RFC 8058 one-click)
//
// sig = the first 16 bytes of HMAC-SHA256(secret, kind "\n" action_id "\n" target), base64url without padding
// (kind is `c`, `o` or `u`; target is empty but for clicks). The action id names lead, workflow and step (it is
// in the outbox), so a valid link is all an endpoint needs to raise email.clicked / email.opened /
// lead.unsubscribed; a forged or altered link fails `verify`.

#include <string>
#include <string_view>

namespace nurture::templates {

struct TrackingLinks {
  std::string base_url;  // e.g. https://t.acme.example (no trailing slash needed)
  std::string secret;    // HMAC key, from the environment (tracking.secret_env)

  std::string click_url(std::string_view action_id, std::string_view target) const;
  std::string open_pixel_url(std::string_view action_id) const;
  std::string unsubscribe_url(std::string_view action_id) const;

  std::string signature(char kind, std::string_view action_id, std::string_view target = {}) const;
  bool verify(char kind, std::string_view action_id, std::string_view target, std::string_view signature) const;
};

// Rewrites every `<a href="http(s)://...">` of `html` to its click URL, except links marked `data-notrack` and the
// unsubscribe link, and adds the open pixel before `</body>` (or at the end).
std::string add_tracking(std::string_view html, const TrackingLinks& links, std::string_view action_id);

std::string percent_encode(std::string_view text);
std::string percent_decode(std::string_view text);

}  // namespace nurture::templates
