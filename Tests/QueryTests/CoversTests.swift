import Decoders
import Query
import Testing

/// `covers(NAME, ADDRESS)`: whether a host's IOVA window list contains an address, in three-valued
/// logic — a host without the list (or with text that is not one) is unknown, never false.
@Suite struct CoversTests {
    static let windows = VFIOInfo.iovaWindows
    /// scalable-aw48 (the MSI window 0xfee00000–0xfeefffff is the hole) and a host that never reported windows.
    let aw48 = QueryEvaluator(facts: [windows: .text("0x0-0xfedfffff,0xfef00000-0xffffffffffff")], kernelRelease: nil, labels: [:])
    let bare = QueryEvaluator(facts: ["pasid_bits": .int(20)], kernelRelease: nil, labels: [:])

    func value(_ text: String, _ host: QueryEvaluator) throws -> Bool? { host.evaluate(try QueryParser.parse(text)) }

    func error(_ text: String) -> QueryError? {
        do { _ = try QueryParser.parse(text); return nil } catch { return error }
    }

    @Test func parsesAndPrintsBack() throws {
        let e = try QueryParser.parse("covers(vfio.iova_windows, 0xfee00000)")
        #expect(e == .covers(.fact(Self.windows, .text), 0xfee0_0000))
        #expect(e.description == "covers(vfio.iova_windows, 0xfee00000)")
        #expect(try QueryParser.parse(e.description) == e)
        #expect(try QueryParser.parse("COVERS( vfio.iova_windows ,4276092928 )") == e, "keyword case-insensitive, decimal address")
        #expect(e.terms == [.fact(Self.windows, .text)])
        #expect(try QueryParser.parse("not covers(vfio.iova_windows, 0) and pasid_bits >= 20").description
                == "((not covers(vfio.iova_windows, 0x0)) and pasid_bits >= 20)")
    }

    @Test func msiWindowIsNotIOVA() throws {
        #expect(try value("covers(vfio.iova_windows, 0xfee00000)", aw48) == false)
        #expect(try value("not covers(vfio.iova_windows, 0xfee00000)", aw48) == true)
        #expect(try value("covers(vfio.iova_windows, 0xfedfffff)", aw48) == true, "inclusive end")
        #expect(try value("covers(vfio.iova_windows, 0xfef00000)", aw48) == true, "inclusive start")
        #expect(try value("covers(vfio.iova_windows, 0xffffffffffff)", aw48) == true)
        #expect(try value("covers(vfio.iova_windows, 0x1000000000000)", aw48) == false, "above the 48-bit top")
    }

    @Test func withoutTheListIsUnknown() throws {
        #expect(try value("covers(vfio.iova_windows, 0)", bare) == nil)
        #expect(try value("not covers(vfio.iova_windows, 0)", bare) == nil)
        #expect(try value("covers(vfio.iova_windows, 0) or pasid_bits >= 20", bare) == true)
        let garbled = QueryEvaluator(facts: [Self.windows: .text("0x0-0x1,garbage")], kernelRelease: nil, labels: [:])
        #expect(try value("covers(vfio.iova_windows, 0)", garbled) == nil, "not a window list: unknown")
        let mistyped = QueryEvaluator(facts: [Self.windows: .int(7)], kernelRelease: nil, labels: [:])
        #expect(try value("covers(vfio.iova_windows, 0)", mistyped) == nil, "stored with another type: unknown")
        let empty = QueryEvaluator(facts: [Self.windows: .text("")], kernelRelease: nil, labels: [:])
        #expect(try value("covers(vfio.iova_windows, 0)", empty) == false, "no window at all: known, false")
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        var text: String
        var kind: QueryError.Kind
        var position: Int
        var mentions: String
        var testDescription: String { text }
    }

    static let refusals: [Refusal] = [
        Refusal(text: "covers", kind: .syntax, position: 6, mentions: "expected '(' after 'covers', found end of input"),
        Refusal(text: "covers(0x1)", kind: .syntax, position: 7, mentions: "expected a name inside covers()"),
        Refusal(text: "covers(vfio.iova_windows)", kind: .syntax, position: 24, mentions: "expected ',' and an address after covers(vfio.iova_windows"),
        Refusal(text: #"covers(vfio.iova_windows, "0xfee00000")"#, kind: .syntax, position: 26, mentions: "expected an address (an integer such as 0xfee00000)"),
        Refusal(text: "covers(vfio.iova_windows, -1)", kind: .type, position: 26, mentions: "address -1 in covers() is negative"),
        Refusal(text: "covers(vfio.iova_windows, 0xffffffffffffffff)", kind: .syntax, position: 26, mentions: "outside the signed 64-bit range"),
        Refusal(text: "covers(vfio.iova_windows, 1", kind: .syntax, position: 27, mentions: "expected ')' after the address in covers()"),
        Refusal(text: "covers(vfio.iova_top, 1)", kind: .type, position: 7,
                mentions: "covers() reads a list of IOVA windows (vfio.iova_windows); vfio.iova_top is text and not one"),
        Refusal(text: "covers(pasid_bits, 1)", kind: .type, position: 7, mentions: "pasid_bits is int and not one"),
        Refusal(text: "covers(kernel, 1)", kind: .type, position: 7, mentions: "kernel is a kernel version and not one"),
        Refusal(text: "covers(vfio.iova_window, 1)", kind: .unknownName, position: 7, mentions: "did you mean vfio.iova_windows"),
        Refusal(text: "covers(vfio.iova_windows, 1) = true", kind: .syntax, position: 29, mentions: "expected 'and', 'or' or end of input"),
    ]

    @Test(arguments: refusals) func refused(_ r: Refusal) throws {
        let e = try #require(error(r.text))
        #expect(e.kind == r.kind, "\(e)")
        #expect(e.position == r.position, "\(e)")
        #expect(e.message.contains(r.mentions), "\(e)")
    }

    /// `covers` is a keyword only on its own: no vocabulary name is shadowed, labels may use it.
    @Test func keywordShadowsNoName() throws {
        #expect(Vocabulary.byName["covers"] == nil)
        #expect(try QueryParser.parse(#"label.covers = "x""#) == .compare(.label("covers"), .eq, .text("x")))
    }

    @Test func explainSaysWhatTheAddressNeeds() throws {
        let falseReason = QueryExplainer(aw48).reasons(try QueryParser.parse("covers(vfio.iova_windows, 0xfee00000)"))
        #expect(falseReason.map(\.outcome) == [.false])
        #expect(falseReason.map(\.message) == [#"vfio.iova_windows = "0x0-0xfedfffff,0xfef00000-0xffffffffffff", needs a window covering 0xfee00000"#])
        let negated = QueryExplainer(aw48).reasons(try QueryParser.parse("not covers(vfio.iova_windows, 0x0)"))
        #expect(negated.map(\.predicate) == ["not covers(vfio.iova_windows, 0x0)"])
        #expect(negated.first?.message.hasSuffix("needs no window covering 0x0") == true)
        let unknown = QueryExplainer(bare).reasons(try QueryParser.parse("covers(vfio.iova_windows, 0x0)"))
        #expect(unknown.map(\.outcome) == [.unknown])
        #expect(unknown.map(\.message) == ["vfio.iova_windows unknown (never reported), needs a window covering 0x0"])
    }
}
