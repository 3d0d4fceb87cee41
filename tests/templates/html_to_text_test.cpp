#include <doctest/doctest.h>

#include "templates/html_to_text.hpp"

using nurture::templates::html_to_text;

TEST_CASE("links keep their target as `text (url)`") {
  CHECK(html_to_text("<p>Read <a href=\"https://x.example/a?b=1&amp;c=2\">the guide</a>.</p>") ==
        "Read the guide (https://x.example/a?b=1&c=2).\n");
}

TEST_CASE("blocks become lines, head/style/script vanish, entities are decoded") {
  const char* html =
      "<html><head><title>T</title><style>p{color:red}</style></head><body>"
      "<h1>Hello &amp; welcome</h1><p>First</p><p>Second<br>line</p>"
      "<ul><li>one</li><li>two</li></ul><script>alert(1)</script><!-- note --></body></html>";
  CHECK(html_to_text(html) == "Hello & welcome\n\nFirst\n\nSecond\nline\n\n- one\n- two\n");
}

TEST_CASE("whitespace inside text collapses") {
  CHECK(html_to_text("<p>  a \n  b\t c  </p>") == "a b c\n");
}

TEST_CASE("tag and attribute names are read in any case") {
  CHECK(html_to_text("<STYLE>p{}</Style><P>Hi <A Class=\"x\" HREF='https://x.example/a'>there</A></P>"
                     "<Script>x</SCRIPT>ok") == "Hi there (https://x.example/a)\n\nok\n");
  // `href` only as a whole attribute name: not inside another one
  CHECK(html_to_text("<a data-href=\"no\" href=\"https://x.example/b\">b</a>") == "b (https://x.example/b)\n");
  CHECK(html_to_text("<p>unclosed <style>p{}") == "unclosed\n");
}
