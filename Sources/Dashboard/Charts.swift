/// Charts drawn on the server as inline SVG: sizes and colours are SVG attributes (no style attributes,
/// which the Content-Security-Policy would refuse), labels are escaped text nodes.
public enum Charts {
    /// Series colours, in the same order as the stylesheet's legend classes `.f0`…`.f5`.
    static let palette = ["#2457c5", "#e07b39", "#3a9d6a", "#8e5cc2", "#c2417a", "#9aa4b5"]

    public struct Segment: Sendable {
        public var series: Int
        public var value: Int
        public init(series: Int, value: Int) { self.series = series; self.value = value }
    }

    public struct Bar: Sendable {
        public var label: String
        public var segments: [Segment]
        /// Where the bar's label links to (nil: plain text).
        public var href: String?
        public init(label: String, segments: [Segment], href: String? = nil) {
            self.label = label
            self.segments = segments
            self.href = href
        }
        var total: Int { segments.reduce(0) { $0 + $1.value } }
    }

    /// Horizontal bars, one row each, segments stacked left to right; the total is written after the bar.
    /// `title` is the accessible name of the figure.
    public static func bars(_ bars: [Bar], title: String, width: Int = 560, labelWidth: Int = 150) -> HTML {
        let valueWidth = 60, rowHeight = 30, barHeight = 20
        let plot = width - labelWidth - valueWidth
        let largest = max(1, bars.map(\.total).max() ?? 1)
        let height = max(1, bars.count) * rowHeight + 4
        var rows: HTML = ""
        for (i, bar) in bars.enumerated() {
            let y = i * rowHeight + 4
            let label: HTML = "<text x=\"\(labelWidth - 8)\" y=\"\(y + 15)\" text-anchor=\"end\">\(truncate(bar.label, labelWidth / 7))</text>"
            rows += bar.href.map { href -> HTML in "<a href=\"\(href)\">\(label)</a>" } ?? label
            var x = labelWidth
            for segment in bar.segments where segment.value > 0 {
                let w = max(1, segment.value * plot / largest)
                let colour = palette[segment.series % palette.count]
                rows += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(w)\" height=\"\(barHeight)\" rx=\"2\" fill=\"\(colour)\"><title>\(bar.label): \(segment.value)</title></rect>"
                x += w
            }
            rows += "<text x=\"\(x + 6)\" y=\"\(y + 15)\">\(bar.total)</text>"
        }
        return """
            <svg role="img" aria-label="\(title)" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" xmlns="http://www.w3.org/2000/svg">\
            <title>\(title)</title>\(rows)</svg>
            """
    }

    /// A legend for series names, coloured by the stylesheet's `.fN` classes.
    public static func legend(_ names: [String]) -> HTML {
        let items: [HTML] = names.enumerated().map { i, name in "<span><i class=\"f\(i % palette.count)\"></i>\(name)</span>" }
        return "<div class=\"legend\">\(items)</div>"
    }

    static func truncate(_ s: String, _ n: Int) -> String { s.count <= n ? s : String(s.prefix(n - 1)) + "…" }
}
