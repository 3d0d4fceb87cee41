#pragma once
// Tracking links in emails, and the interface the tracking endpoints verify them with.
//
//   click        {base_url}/t/c/{ref}/{sig}?u={percent-encoded target URL}
//   open pixel   {base_url}/t/o/{ref}/{sig}.gif
//   unsubscribe  {base_url}/u/{ref}/{sig}        (GET: a page with a button; POST: RFC 8058 one-click)
//
// ref = base64url(action_id US lead US workflow US step) (US = 0x1f): everything an endpoint needs to raise
// email.clicked / email.opened / lead.unsubscribed for the right lead and step, with no lookup and no state.
// sig = the first 16 bytes of HMAC-SHA256(secret, kind "\n" ref "\n" target), base64url without padding (kind is
// `c`, `o` or `u`; target is empty but for clicks). A forged or altered link fails `verify`. The paths are the documented ones
// (/t/c, /t/o, /u); the click target travels beside the token, covered by its signature, so no open redirect.

#include <set>
#include <string>
#include <string_view>

namespace nurture::templates {

struct TrackingRef {
  std::string action_id, lead, workflow, step;
};
std::string encode_ref(const TrackingRef& ref);
bool decode_ref(std::string_view text, TrackingRef& ref);  // false when it is not one

struct TrackingLinks {
  std::string base_url;  // e.g. https://t.acme.example (no trailing slash needed)
  std::string secret;    // HMAC key, from the environment (tracking.secret_env)

  // `ref` is encode_ref(...) of the message (any opaque string to the URL builders).
  std::string click_url(std::string_view ref, std::string_view target) const;
  std::string open_pixel_url(std::string_view ref) const;
  std::string unsubscribe_url(std::string_view ref) const;

  std::string signature(char kind, std::string_view ref, std::string_view target = {}) const;
  bool verify(char kind, std::string_view ref, std::string_view target, std::string_view signature) const;
};

// Rewrites every `<a href="http(s)://...">` of `html` to its click URL, except links marked `data-notrack` and the
// unsubscribe link, and adds the open pixel before `</body>` (or at the end). Only links that parse as http(s)
// URLs and whose host is in `trusted_hosts` are signed: a host that came from lead data (`href="{{lead.site}}"`)
// would make a signed redirect to anywhere, so such a link stays as it is, untracked.
std::string add_tracking(std::string_view html, const TrackingLinks& links, std::string_view ref,
                         const std::set<std::string>& trusted_hosts);
// The same, trusting the hosts of either set (a template's own and the configuration's), without merging them.
std::string add_tracking(std::string_view html, const TrackingLinks& links, std::string_view ref,
                         const std::set<std::string>& trusted_hosts, const std::set<std::string>& also_trusted);

// Adds the host of every `href="http(s)://HOST..."` in a template's source whose host is written out (has no
// `{{`): the hosts the marketer wrote, as opposed to ones lead data fills in. Lower-case.
void collect_link_hosts(std::string_view template_source, std::set<std::string>& hosts);

std::string percent_encode(std::string_view text);
std::string percent_decode(std::string_view text);

}  // namespace nurture::templates
