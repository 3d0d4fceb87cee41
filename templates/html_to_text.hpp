#pragma once
// The plain-text part derived from an email's HTML: tags dropped, blocks as lines, links kept as `text (url)`.

#include <string>
#include <string_view>

namespace nurture::templates {

std::string html_to_text(std::string_view html);

}  // namespace nurture::templates
