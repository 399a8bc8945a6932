import API
import Testing

@Suite("DurationText")
struct DurationTextTests {
    @Test("a whole number and one unit")
    func parses() throws {
        #expect(try DurationText.parse("90s").seconds == 90)
        #expect(try DurationText.parse("30m").seconds == 1800)
        #expect(try DurationText.parse("2h").seconds == 7200)
        #expect(try DurationText.parse("7d").seconds == 604_800)
        #expect(try DurationText.parse("36500d").seconds == DurationText.maxSeconds)
    }

    @Test("anything else is refused with a message that says what is expected")
    func refuses() {
        for text in ["", "2", "h", "2 h", "-2h", "+2h", "2H", "1.5h", "0s", "2w", "2hh", "h2", "٣h", "36501d", "99999999999999999999s"] {
            #expect(throws: DurationError.self, "\(text)") { try DurationText.parse(text) }
        }
        #expect(throws: DurationError(text: "2w", reason: "expected a number and a unit: s, m, h or d (90s, 30m, 2h, 7d)")) {
            try DurationText.parse("2w")
        }
        #expect(throws: DurationError(text: "0s", reason: "expected a count within 1…3153600000 for 's'")) { try DurationText.parse("0s") }
    }

    @Test("written back in the largest unit that divides it")
    func description() throws {
        #expect(DurationText(seconds: 7200).description == "2h")
        #expect(DurationText(seconds: 5400).description == "90m")
        #expect(DurationText(seconds: 86_400 * 7).description == "7d")
        #expect(DurationText(seconds: 61).description == "61s")
        #expect(try DurationText.parse("120m").description == "2h")
    }
}
