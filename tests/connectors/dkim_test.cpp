// DKIM signatures checked by dkimpy (python3-dkim), an independent verifier, with the key served in place of DNS.
#include <doctest/doctest.h>

#include <future>

#include "connectors/builtins.hpp"
#include "connectors/smtp/dkim.hpp"
#include "templates/mime.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/process.hpp"

using namespace nurture;
using namespace nurture::testing;
namespace fs = std::filesystem;

namespace {

// Private and public PEM keys made by the openssl tool: `rsa` (2048 bits) or `ed25519`.
void make_key(const fs::path& dir, const std::string& kind) {
  std::vector<std::string> generate{"openssl", "genpkey", "-algorithm", kind == "rsa" ? "RSA" : "ED25519", "-out",
                                    (dir / (kind + ".pem")).string()};
  if (kind == "rsa") generate.insert(generate.end(), {"-pkeyopt", "rsa_keygen_bits:2048"});
  REQUIRE(run_command(generate, dir / "genpkey.log") == 0);
  REQUIRE(run_command({"openssl", "pkey", "-in", (dir / (kind + ".pem")).string(), "-pubout", "-out",
                       (dir / (kind + ".pub.pem")).string()},
                      dir / "pubout.log") == 0);
}

bool verifies(const fs::path& dir, const std::string& message, const std::string& kind) {
  write_file(dir / "signed.eml", message);
  return run_command({"/usr/bin/python3", std::string(NURTURE_SOURCE_DIR) + "/tests/connectors/dkim_verify.py",
                      (dir / "signed.eml").string(), (dir / (kind + ".pub.pem")).string(), "mail2026",
                      "acme.example"},
                     dir / "verify.log") == 0;
}

std::string marketing_message() {
  templates::OutgoingEmail email;
  email.from = "Acmé Team <hello@acme.example>";
  email.to = "ana@example.com";
  email.subject = "Willkommen, Ana — three tips for your first week";
  email.text = "Hi Ana,  here are   three tips.\n\nBye \n\n\n";
  email.html = "<p>Hi Ana, <a href=\"https://acme.example/x\">start</a></p>" + std::string(200, 'x');
  email.message_id = "a1@acme.example";
  email.date = std::chrono::system_clock::now();
  email.list_unsubscribe_url = "https://t.acme.example/u/a1/sig";
  return templates::compose_mime(email).value();
}

}  // namespace

TEST_CASE("relaxed canonicalisation (RFC 6376 3.4.2, 3.4.4)") {
  using connectors::DkimSigner;
  CHECK(DkimSigner::relaxed_header("SubJect ", " Hi\r\n \t there  ") == "subject:Hi there");
  CHECK(DkimSigner::relaxed_body("a  b \r\n\tc\r\n\r\n \r\n") == "a b\r\n c\r\n");
  CHECK(DkimSigner::relaxed_body("no newline") == "no newline\r\n");
  CHECK(DkimSigner::relaxed_body("\r\n\r\n").empty());
}

TEST_CASE("rsa-sha256 and ed25519-sha256 signatures verify with dkimpy, and a changed message does not") {
  TempDir dir;
  for (const std::string kind : {"rsa", "ed25519"}) {
    CAPTURE(kind);
    make_key(dir.path(), kind);
    auto loaded = connectors::DkimSigner::load(dir / (kind + ".pem"), "mail2026", "acme.example");
    REQUIRE_MESSAGE(loaded, loaded.error().format());
    const auto& signer = *loaded;
    CHECK(std::string(signer->algorithm()) == (kind == "rsa" ? "rsa-sha256" : "ed25519-sha256"));
    const std::string message = marketing_message();
    const std::string signed_message = signer->sign(message, std::time(nullptr));
    CHECK(signed_message.rfind("DKIM-Signature: v=1; a=" + std::string(signer->algorithm()) +
                               "; c=relaxed/relaxed; d=acme.example; s=mail2026;", 0) == 0);
    CHECK(header(signed_message, "DKIM-Signature").find("list-unsubscribe:list-unsubscribe-post") !=
          std::string::npos);
    CHECK_MESSAGE(verifies(dir.path(), signed_message, kind), read_file(dir / "verify.log"));

    std::string tampered = signed_message;
    tampered.replace(tampered.find("three tips."), 5, "THREE");
    CHECK_FALSE(verifies(dir.path(), tampered, kind));
    std::string other_subject = signed_message;
    other_subject.replace(other_subject.find("Subject: "), 9, "Subject: Re: ");
    CHECK_FALSE(verifies(dir.path(), other_subject, kind));
  }
}

TEST_CASE("the smtp connector signs what it sends when given a key, a bad key is a config error") {
  TempDir dir;
  make_key(dir.path(), "ed25519");
  SmtpSink sink(dir / "mail");
  sdk::Registry registry;
  connectors::register_builtin_connectors(registry);
  auto created = registry.create("smtp", "smtp_main",
                                   {{"url", sink.url()},
                                    {"dkim_key", (dir / "ed25519.pem").string()},
                                    {"dkim_selector", "mail2026"},
                                    {"dkim_domain", "acme.example"}},
                                   "/");
  REQUIRE(created);
  auto connector = std::move(*created);
  sdk::Action action;
  action.action_id = "d1";
  action.email.from = "Acme <hello@acme.example>";
  action.email.to = "ana@example.com";
  action.email.mime = marketing_message();
  auto promise = std::make_shared<std::promise<sdk::Result>>();
  auto answer = promise->get_future();
  connector->send(action, [promise](sdk::Result r) { promise->set_value(std::move(r)); });
  REQUIRE(answer.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  CHECK(answer.get().kind == sdk::Result::Kind::sent);
  auto mails = sink.messages();
  REQUIRE(mails.size() == 1);
  CHECK_MESSAGE(verifies(dir.path(), mails[0].raw, "ed25519"), read_file(dir / "verify.log"));

  write_file(dir / "not-a-key.pem", "hello");
  auto broken = registry.create("smtp", "smtp_main",
                                {{"url", sink.url()},
                                 {"dkim_key", (dir / "not-a-key.pem").string()},
                                 {"dkim_selector", "s"},
                                 {"dkim_domain", "acme.example"}},
                                "/");
  REQUIRE_FALSE(broken);
  REQUIRE(broken.error().size() == 1);
  CHECK(broken.error()[0].message.find("not-a-key.pem is not a PEM private key") != std::string::npos);
}
