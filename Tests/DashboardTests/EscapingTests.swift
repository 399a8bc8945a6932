@testable import Dashboard
import Testing

@Suite("HTML escaping")
struct EscapingTests {
    @Test("markup, quotes and ampersands become character references")
    func hostileText() {
        #expect(HTML.escape("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;")
        #expect(HTML.escape("a & b &amp; c") == "a &amp; b &amp;amp; c")
        #expect(HTML.escape("\"double\" 'single'") == "&quot;double&quot; &#39;single&#39;")
        #expect(HTML.escape("<img src=x onerror=alert(1)><b>evil</b>") == "&lt;img src=x onerror=alert(1)&gt;&lt;b&gt;evil&lt;/b&gt;")
        #expect(HTML.escape("plain host-000001.rack12") == "plain host-000001.rack12")
        #expect(HTML.escape("ünïcödé ✓") == "ünïcödé ✓")
    }

    @Test("control characters are replaced, whitespace kept")
    func controls() {
        #expect(HTML.escape("a\u{0}b\u{1B}[31mc\u{7F}") == "a\u{FFFD}b\u{FFFD}[31mc\u{FFFD}")
        #expect(HTML.escape("tab\tline\nreturn\r") == "tab\tline\nreturn\r")
    }

    @Test("an attribute value cannot be closed or left: quotes are escaped in attribute context")
    func attributeContext() {
        let hostile = "\" onmouseover=\"alert(1)"
        let markup: HTML = "<input value=\"\(hostile)\">"
        #expect(markup.text == "<input value=\"&quot; onmouseover=&quot;alert(1)\">")
        let single = "' autofocus onfocus='x"
        let other: HTML = "<a title=\"\(single)\">"
        #expect(other.text == "<a title=\"&#39; autofocus onfocus=&#39;x\">")
    }

    @Test("interpolated strings are escaped; literals and HTML values are not")
    func interpolation() {
        let name = "<b>evil</b>"
        let inner: HTML = "<i>\(name)</i>"
        let outer: HTML = "<p>\(inner) and \(name) and \(42)</p>"
        #expect(outer.text == "<p><i>&lt;b&gt;evil&lt;/b&gt;</i> and &lt;b&gt;evil&lt;/b&gt; and 42</p>")
        let list: [HTML] = ["<li>\("a&b")</li>", "<li>\("<c>")</li>"]
        let ul: HTML = "<ul>\(list)</ul>"
        #expect(ul.text == "<ul><li>a&amp;b</li><li>&lt;c&gt;</li></ul>")
    }

    @Test("links percent-encode hostnames and expressions, so a hostname stays one parameter value")
    func links() {
        #expect(Links.host("a b/../&x=<y>") == "/ui/host?name=a%20b%2F..%2F%26x%3D%3Cy%3E")
        #expect(Links.query([("where", "kernel >= \"6\"")]) == "/ui/query?where=kernel%20%3E%3D%20%226%22")
        #expect(Links.percentEncode("ü") == "%C3%BC")
        let a: HTML = "<a href=\"\(Links.host("\"><script>"))\">"
        #expect(a.text == "<a href=\"/ui/host?name=%22%3E%3Cscript%3E\">")
    }

    @Test("charts escape their labels")
    func chartLabels() {
        let svg = Charts.bars([Charts.Bar(label: "<script>x</script>", segments: [Charts.Segment(series: 0, value: 3)])], title: "t&t")
        #expect(!svg.text.contains("<script>"))
        #expect(svg.text.contains("&lt;script&gt;x&lt;/script&gt;"))
        #expect(svg.text.contains("aria-label=\"t&amp;t\""))
    }
}
