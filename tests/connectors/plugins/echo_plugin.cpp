// A test plugin: answers every send with what it received, through the C ABI and back.
#include <nurture/sdk/plugin.hpp>

namespace {

class Echo final : public nurture::sdk::Connector {
 public:
  explicit Echo(std::string prefix) : prefix_(std::move(prefix)) {}
  bool needs_mime() const override { return false; }
  void send(const nurture::sdk::Action& a, nurture::sdk::Completion done) override {
    if (a.post.text == "please retry") return done(nurture::sdk::Result::retry(std::chrono::milliseconds(1234), "asked to"));
    std::string headers;
    for (const auto& [name, value] : a.email.headers) headers += name + "=" + value + ";";
    done(nurture::sdk::Result::sent(prefix_ + a.action_id + "|" + a.lead_id + "|" + a.post.text + "|" + a.lead_attrs +
                                    "|" + headers));
  }

 private:
  std::string prefix_;
};

nurture::sdk::ConnectorFactory echo_factory() {
  nurture::sdk::ConnectorFactory f;
  f.type = "echo";
  f.doc = "test plugin";
  f.keys = {{"prefix", nurture::sdk::ConfigKey::Type::string, true, "", "put before every provider id"},
            {"size", nurture::sdk::ConfigKey::Type::integer, false, "3", "a number"}};
  f.create = [](const nurture::sdk::ConnectorConfig& c) -> nurture::sdk::Created {
    if (c.get("prefix") == "bad") {
      return nurture::fail("prefix must not be bad");
    }
    return std::make_unique<Echo>(c.get("prefix") + c.get("size") + ":");
  };
  return f;
}

}  // namespace

NURTURE_EXPORT_CONNECTOR(echo_factory)
