#include <doctest/doctest.h>

#include <regex>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <nlohmann/json.hpp>

#include "templates/mustache.hpp"
#include "templates/tracking.hpp"

using nurture::templates::add_tracking;
using nurture::templates::percent_decode;
using nurture::templates::TrackingLinks;

namespace {
const TrackingLinks links{"https://t.acme.example/", "s3cret"};

// The target of a click URL as an endpoint sees it, with its signature checked.
std::string clicked_target(const std::string& url, const TrackingLinks& verifier) {
  static const std::regex shape(R"(^https://t\.acme\.example/t/c/([^/]+)/([A-Za-z0-9_-]+)\?u=(.*)$)");
  std::smatch match;
  if (!std::regex_match(url, match, shape)) return "<not a click URL>";
  const std::string target = percent_decode(match[3].str());
  return verifier.verify('c', match[1].str(), target, match[2].str()) ? target : "<bad signature>";
}
}  // namespace

TEST_CASE("links are rewritten to signed click URLs, mailto, data-notrack and the unsubscribe link are not") {
  const std::string unsubscribe = links.unsubscribe_url("a1");
  const std::string html = "<html><body><p><a href=\"https://acme.example/pricing?plan=pro&amp;ref=mail\">Pricing</a>"
                           " <A class=\"btn\" HREF='http://acme.example/x'>X</A>"
                           " <a href=\"mailto:sales@acme.example\">Mail us</a>"
                           " <a data-notrack href=\"https://acme.example/private\">Private</a>"
                           " <a href=\"" + unsubscribe + "\">Unsubscribe</a></p></body></html>";
  const std::string tracked = add_tracking(html, links, "a1", {"acme.example"});

  std::vector<std::string> hrefs;
  static const std::regex href(R"(href\s*=\s*["']([^"']*)["'])", std::regex::icase);
  for (auto it = std::sregex_iterator(tracked.begin(), tracked.end(), href); it != std::sregex_iterator(); ++it) {
    std::string value = (*it)[1];
    value = std::regex_replace(value, std::regex("&amp;"), "&");
    hrefs.push_back(value);
  }
  REQUIRE(hrefs.size() == 5);
  CHECK(clicked_target(hrefs[0], links) == "https://acme.example/pricing?plan=pro&ref=mail");
  CHECK(clicked_target(hrefs[1], links) == "http://acme.example/x");
  CHECK(hrefs[2] == "mailto:sales@acme.example");
  CHECK(hrefs[3] == "https://acme.example/private");
  CHECK(hrefs[4] == unsubscribe);
  CHECK(tracked.find("<A class=\"btn\" HREF='") != std::string::npos);  // the rest of the tag is untouched

  const std::string pixel = "<img src=\"" + links.open_pixel_url("a1") + "\"";
  REQUIRE(tracked.find(pixel) != std::string::npos);
  CHECK(tracked.find(pixel) < tracked.find("</body>"));
}

TEST_CASE("a tracking link verifies only with the same secret, kind, action and target") {
  const std::string sig = links.signature('c', "a1", "https://acme.example/");
  CHECK(links.verify('c', "a1", "https://acme.example/", sig));
  CHECK_FALSE(links.verify('c', "a1", "https://evil.example/", sig));
  CHECK_FALSE(links.verify('c', "a2", "https://acme.example/", sig));
  CHECK_FALSE(links.verify('o', "a1", "https://acme.example/", sig));
  CHECK_FALSE(TrackingLinks{links.base_url, "other"}.verify('c', "a1", "https://acme.example/", sig));
  CHECK_FALSE(links.verify('c', "a1", "https://acme.example/", sig.substr(1)));
  CHECK(sig.size() == 22);  // 128 bits, base64url
  // The open pixel and unsubscribe URLs carry their own signatures.
  CHECK(links.open_pixel_url("a1") == "https://t.acme.example/t/o/a1/" + links.signature('o', "a1") + ".gif");
  CHECK(links.unsubscribe_url("a1") == "https://t.acme.example/u/a1/" + links.signature('u', "a1"));
}

TEST_CASE("a ref carries action, lead, workflow and step, and nothing else decodes as one") {
  using nurture::templates::TrackingRef;
  const std::string ref = nurture::templates::encode_ref({"0123abcd", "lead 42/Ω", "welcome", "hello"});
  CHECK(ref.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == std::string::npos);
  TrackingRef decoded;
  REQUIRE(nurture::templates::decode_ref(ref, decoded));
  CHECK(decoded.action_id == "0123abcd");
  CHECK(decoded.lead == "lead 42/Ω");
  CHECK(decoded.workflow == "welcome");
  CHECK(decoded.step == "hello");
  CHECK_FALSE(nurture::templates::decode_ref("not/base64!", decoded));
  CHECK_FALSE(nurture::templates::decode_ref("aGVsbG8", decoded));  // "hello": no fields
}

TEST_CASE("without a body element the pixel goes at the end") {
  const std::string tracked = add_tracking("<p>Hi</p>", links, "a1", {});
  CHECK(tracked.rfind("<p>Hi</p><img src=\"https://t.acme.example/t/o/a1/", 0) == 0);
}

TEST_CASE("signatures are standard HMAC-SHA256 (checked against OpenSSL's one-shot HMAC), for short and long keys") {
  for (const std::string secret : {std::string("s3cret"), std::string(100, 'k')}) {
    const TrackingLinks with_key{"https://t.acme.example", secret};
    const std::string message = "c\na1\nhttps://acme.example/";
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
    REQUIRE(length == 32);
    // base64url of the first 16 bytes, no padding
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string expected;
    for (int i = 0; i < 16; i += 3) {
      const unsigned v = (digest[i] << 16) | (i + 1 < 16 ? digest[i + 1] << 8 : 0) | (i + 2 < 16 ? digest[i + 2] : 0);
      expected += alphabet[(v >> 18) & 63];
      expected += alphabet[(v >> 12) & 63];
      if (i + 1 < 16) expected += alphabet[(v >> 6) & 63];
      if (i + 2 < 16) expected += alphabet[v & 63];
    }
    CHECK(with_key.signature('c', "a1", "https://acme.example/") == expected);
  }
}

TEST_CASE("lead data after a link's host is percent-encoded: it cannot add parameters or leave the attribute") {
  const nlohmann::json data = {{"lead", {{"ref", "x&admin=1\"><script>alert(1)</script>"}, {"name", "A&B"}}}};
  auto html = nurture::templates::render_mustache(
      "<a href=\"https://acme.example/p?ref={{lead.ref}}\">{{lead.name}}</a> <a href='https://acme.example/{{{lead.ref}}}'>x</a>",
      data);
  REQUIRE(html);
  CHECK(*html ==
        "<a href=\"https://acme.example/p?ref=x%26admin%3D1%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E\">A&amp;B</a> "
        "<a href='https://acme.example/x%26admin%3D1%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E'>x</a>");
  auto text = nurture::templates::render_mustache("href=\"https://a.example/{{lead.name}}\"", data, {},
                                                  nurture::templates::Escaping::none);
  CHECK(*text == "href=\"https://a.example/A&B\"");  // text parts and subjects are not HTML: left as they are
}

TEST_CASE("a link whose host came from lead data is not signed: no open redirect through the brand's domain") {
  std::set<std::string> hosts;
  nurture::templates::collect_link_hosts(
      "<a href=\"https://Acme.example/start\">a</a> <a href=\"{{lead.website}}\">b</a> "
      "<a href='https://{{lead.sub}}.acme.example/'>c</a> <a href=\"http://docs.acme.example\">d</a> "
      "src=\"https://cdn.example/x.png\"",
      hosts);
  CHECK(hosts == std::set<std::string>{"acme.example", "docs.acme.example"});
  const std::string html = "<a href=\"https://evil.example/phish\">site</a> <a href=\"https://acme.example/ok\">ok</a>"
                           " <a href=\"https://acme.example/\r\nSet-Cookie: a=b\">bad</a>";
  const std::string tracked = add_tracking(html, links, "a1", hosts);
  CHECK(tracked.find("<a href=\"https://evil.example/phish\">") != std::string::npos);  // left as it was
  CHECK(tracked.find("/t/c/a1/") != std::string::npos);                                 // the brand's link is
  CHECK(tracked.find("Set-Cookie") != std::string::npos);  // untouched, never signed: it does not parse as a URL
  CHECK(tracked.find(links.click_url("a1", "https://acme.example/\r\nSet-Cookie: a=b")) == std::string::npos);
}
