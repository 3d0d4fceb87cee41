#pragma once
// The built-ins' HTTP: the SDK's client and answer classification (nurture/sdk/http.hpp), under their old names.

#include "nurture/sdk/http.hpp"

namespace nurture::connectors::http {

using sdk::http::classify;
using sdk::http::Client;
using sdk::http::form_encode;
using sdk::http::Request;
using sdk::http::Response;
using sdk::http::retry_after;

}  // namespace nurture::connectors::http
