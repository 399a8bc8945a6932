import Foundation
import Server
import Store

/// The frame every page shares (header, navigation, footer) and the headers every page is sent with.
public enum Layout {
    public enum Section: Sendable { case overview, query, changes, audits, host, none }

    public static func page(title: String, section: Section, body: HTML) -> HTML {
        func nav(_ label: String, _ href: String, _ s: Section) -> HTML {
            s == section ? "<a class=\"on\" href=\"\(href)\">\(label)</a>" : "<a href=\"\(href)\">\(label)</a>"
        }
        return """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(title) · capreg</title>
        <style>\(HTML(trusted: Stylesheet.css))</style></head>
        <body><header><div class="bar"><a class="brand" href="/">capreg</a><nav>\
        \(nav("Fleet", Links.overview, .overview))\(nav("Query", Links.query([]), .query))\(nav("Changes", Links.changes([]), .changes))\(nav("Audits", Links.audits([]), .audits))\
        </nav></div></header>
        <main>
        \(body)
        </main>
        <footer>capreg dashboard · read-only · the same data as the JSON API under /v1</footer>
        </body></html>

        """
    }

    /// No script at all, and only the one stylesheet, by hash: nothing a hostile value slipped into a
    /// page could run or restyle even if escaping failed. Hash rather than nonce: the stylesheet is a
    /// constant, so its hash is computed once and no per-response randomness is needed. No `style=`
    /// attributes anywhere (a hash does not cover them); widths and colours live in SVG attributes.
    public static let contentSecurityPolicy =
        "default-src 'none'; style-src '\(styleHash)'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

    static let styleHash: String = {
        var h = SHA256()
        h.update(Stylesheet.css)
        let hex = Array(h.finalize().utf8)
        func nibble(_ c: UInt8) -> UInt8 { c <= 0x39 ? c - 0x30 : c - 0x61 + 10 }
        let digest = (0..<32).map { nibble(hex[$0 * 2]) << 4 | nibble(hex[$0 * 2 + 1]) }
        return "sha256-" + Data(digest).base64EncodedString()
    }()

    public static func response(_ status: HTTPStatus = .ok, _ page: HTML) -> HTTPResponse {
        HTTPResponse(status: status, headers: HTTPHeaders([
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Security-Policy", contentSecurityPolicy),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("Cache-Control", "no-store"),
        ]), body: Array(page.text.utf8))
    }

    /// A refusal (bad parameter, unknown host, missing token) as a page, with the API's own message.
    public static func errorPage(_ status: HTTPStatus, message: String) -> HTML {
        page(title: "Error", section: .none, body: """
            <h1>\(status.code) \(status.reason)</h1>
            <div class="error"><b>\(message)</b></div>
            <p><a href="/">Back to the fleet overview</a></p>
            """)
    }
}
