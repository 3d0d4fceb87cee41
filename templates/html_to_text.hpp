#pragma once
// The plain-text part derived from an email's HTML: tags dropped, blocks as lines, links kept as `text (url)`.

#include <string>
#include <string_view>

namespace nurture::templates {

std::string html_to_text(std::string_view html);

// The entities Mustache and HTML editors write (&amp; &lt; &gt; &quot; &#39; &apos; &nbsp; &#x27; &#x2F; &#x3D;) as
// the characters they stand for; any other `&` is kept as it is.
std::string decode_html_entities(std::string_view text);

}  // namespace nurture::templates
