import Foundation
import Testing
@testable import JSONText
@testable import Server

@Suite struct ResponseTests {
    @Test func errorShapeIsOneJSONObject() throws {
        let response = HTTPResponse.error(.badRequest, code: "syntax_error", message: "line \"1\"\n\u{1}",
                                          details: [("position", .int(7)), ("expected", .strings(["and", "or"])), ("retry", .bool(false))])
        #expect(response.headers["content-type"] == "application/json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        #expect(json.keys.sorted() == ["error"])
        let error = try #require(json["error"] as? [String: Any])
        #expect(error["code"] as? String == "syntax_error")
        #expect(error["message"] as? String == "line \"1\"\n\u{1}")
        #expect(error["position"] as? Int == 7)
        #expect(error["expected"] as? [String] == ["and", "or"])
        #expect(error["retry"] as? Bool == false)
    }

    @Test func serverOwnsFramingHeaders() {
        var headers = HTTPHeaders([("Content-Type", "text/plain"), ("Content-Length", "999"), ("Connection", "upgrade")])
        headers.add("X-Extra", "1")
        let bytes = ResponseSerializer.serialize(HTTPResponse(status: .ok, headers: headers, body: Array("hi".utf8)),
                                                 keepAlive: true, omitBody: false, date: "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(String(decoding: bytes, as: UTF8.self) == """
            HTTP/1.1 200 OK\r
            Content-Type: text/plain\r
            X-Extra: 1\r
            Date: Thu, 01 Jan 1970 00:00:00 GMT\r
            Content-Length: 2\r
            Connection: keep-alive\r
            \r
            hi
            """)
    }

    @Test func headerInjectionBecomes500() {
        let bad = HTTPResponse(status: .ok, headers: HTTPHeaders([("X-A", "a\r\nSet-Cookie: evil")]), body: [])
        let text = String(decoding: ResponseSerializer.serialize(bad, keepAlive: true, omitBody: false, date: "d"), as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 500 "))
        #expect(!text.contains("evil"))
    }

    @Test func noContentHasNoLengthOrBody() {
        let text = String(decoding: ResponseSerializer.serialize(HTTPResponse(status: .noContent, body: Array("x".utf8)),
                                                                  keepAlive: false, omitBody: false, date: "d"), as: UTF8.self)
        #expect(text == "HTTP/1.1 204 No Content\r\nDate: d\r\nConnection: close\r\n\r\n")
    }

    @Test func dateIsIMFFixdate() {
        #expect(HTTPDate.format(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDate.format(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
    }

    @Test func headersLookUpCaseInsensitively() {
        var h = HTTPHeaders([("Accept", "a"), ("ACCEPT", "b")])
        #expect(h["accept"] == "a")
        #expect(h.values("Accept") == ["a", "b"])
        h.set("accept", "c")
        #expect(h.values("ACCEPT") == ["c"])
    }

    /// Commas go between elements at every depth, never after a key or before a container's first element.
    @Test func jsonWriterPlacesCommas() {
        var w = JSONWriter()
        w.objectStart()
        w.key("a")
        w.arrayStart()
        w.int(1)
        w.objectStart()
        w.objectEnd()
        w.arrayStart()
        w.arrayEnd()
        w.string(nil as String?)
        w.json(#"{"x":[0]}"#)
        w.arrayEnd()
        w.key("b")
        w.bool(false)
        w.key("c")
        w.int(-12345)
        w.key("d")
        w.objectStart()
        w.key("e")
        w.int(7)
        w.objectEnd()
        w.objectEnd()
        #expect(String(decoding: w.bytes, as: UTF8.self) == #"{"a":[1,{},[],null,{"x":[0]}],"b":false,"c":-12345,"d":{"e":7}}"#)
    }

    /// Commas at every depth, past the 64 containers the writer tracks in one word too.
    @Test func jsonCommasAtEveryDepth() throws {
        for depth in [1, 2, 63, 64, 65, 66, 130] {
            var out = JSONWriter()
            for _ in 0..<depth {
                out.arrayStart()
                out.int(1)
                out.objectStart()
                out.key("a")
                out.int(2)
                out.key("b")
                out.arrayStart()
            }
            for _ in 0..<depth {
                out.int(3)
                out.int(4)
                out.arrayEnd()
                out.objectEnd()
                out.bool(true)
                out.arrayEnd()
            }
            let one = #"[1,{"a":2,"b":["#
            // The innermost "b" is empty when 3 goes in; each outer one already holds the inner array.
            let close = #"3,4]},true]"#
            let expected = String(repeating: one, count: depth) + close + String(repeating: "," + close, count: depth - 1)
            #expect(String(decoding: out.bytes, as: UTF8.self) == expected, "depth \(depth)")
        }
    }

    /// The whole-string fast path and the escaping loop give the same literal.
    @Test func jsonStringEscapes() {
        func literal(_ s: String) -> String {
            var out = JSONWriter()
            out.string(s)
            return String(decoding: out.bytes, as: UTF8.self)
        }
        #expect(literal("host-000001") == #""host-000001""#)
        #expect(literal("") == #""""#)
        #expect(literal("é ü 日本") == "\"é ü 日本\"")
        #expect(literal("a\"b\\c") == #""a\"b\\c""#)
        #expect(literal("l\nt\tr\r") == #""l\nt\tr\r""#)
        #expect(literal("\u{01}\u{7F}") == #""\u0001\u007f""#)
        #expect(literal("x\u{2028}y\u{2029}") == #""x\u2028y\u2029""#)
        // 0xE2 starts other characters too: they pass unescaped through the slow path.
        #expect(literal("€ – →") == "\"€ – →\"")
    }

    /// Each byte that needs an escape, at every position of strings up to 24 bytes long (so before,
    /// inside and after each eight-byte word the scan reads at once), is escaped, and nothing else is.
    @Test func jsonEscapesAtEveryPosition() {
        let escapes: [(UInt8, String)] = [(0x22, #"\""#), (0x5C, #"\\"#), (0x0A, #"\n"#), (0x00, #"\u0000"#), (0x1F, #"\u001f"#),
                                          (0x7F, #"\u007f"#)]
        for length in 1...24 {
            for position in 0..<length {
                for (byte, escaped) in escapes {
                    var bytes = [UInt8](repeating: 0x61, count: length)  // "a"
                    bytes[position] = byte
                    var out = JSONWriter()
                    out.string(String(decoding: bytes, as: UTF8.self))
                    let expected = "\"" + String(repeating: "a", count: position) + escaped
                        + String(repeating: "a", count: length - position - 1) + "\""
                    #expect(String(decoding: out.bytes, as: UTF8.self) == expected, "byte \(byte) at \(position) of \(length)")
                }
            }
            var plain = JSONWriter()
            plain.string(String(repeating: "~", count: length))  // 0x7E, the highest byte that needs none
            #expect(plain.bytes == [0x22] + [UInt8](repeating: 0x7E, count: length) + [0x22])
        }
        // The word test alone, against the byte test, for every byte value in each lane.
        for byte in 0...255 {
            for lane in 0..<8 {
                let word = UInt64(0x61) &* 0x0101_0101_0101_0101 & ~(UInt64(0xFF) << (8 * lane)) | UInt64(byte) << (8 * lane)
                let needs = byte < 0x20 || byte == 0x22 || byte == 0x5C || byte >= 0x7F
                #expect(JSONWriter.mayNeedEscape(word) == needs, "byte \(byte) in lane \(lane)")
            }
        }
    }

    /// Keys and strings given as bytes are written as the same text given as a String; bytes that are
    /// not UTF-8 are written as U+FFFD, never copied into the body.
    @Test func jsonStringsFromBytes() {
        for text in ["host-000001", "", "é ü 日本", "a\"b\\c", "l\nt", "\u{01}\u{7F}", "x\u{2028}y", "€ – →", "rack"] {
            var fromString = JSONWriter(), fromBytes = JSONWriter()
            fromString.objectStart(); fromString.key(text); fromString.string(text); fromString.objectEnd()
            let bytes = Array(text.utf8)
            bytes.withUnsafeBufferPointer { b in
                fromBytes.objectStart(); fromBytes.key(utf8: b); fromBytes.string(utf8: b); fromBytes.objectEnd()
            }
            #expect(fromBytes.bytes == fromString.bytes, "\(text.debugDescription)")
        }
        var out = JSONWriter()
        [UInt8]([0x61, 0xFF, 0xC3, 0x62]).withUnsafeBufferPointer { out.string(utf8: $0) }
        #expect(String(decoding: out.bytes, as: UTF8.self) == "\"a\u{FFFD}\u{FFFD}b\"")
    }
}
