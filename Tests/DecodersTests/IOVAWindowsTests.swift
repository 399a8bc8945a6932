import Testing
@testable import Decoders

/// The text form of `vfio.iova_windows`: what covers() reads and host combination intersects.
@Suite struct IOVAWindowsTests {
    static let captured = "0x0-0xfedfffff,0xfef00000-0xffffffffffff"  // scalable-aw48: the MSI window is the hole

    @Test(arguments: [
        (0x0, true), (0xfed_fffff, true), (0xfee0_0000, false), (0xfeef_ffff, false), (0xfef0_0000, true),
        (0xffff_ffff_ffff, true), (0x1_0000_0000_0000, false),
    ] as [(UInt64, Bool)])
    func coversIsInclusiveAtBothEnds(address: UInt64, covered: Bool) {
        #expect(IOVAWindows.covers(Self.captured, address) == covered)
    }

    @Test func emptyTextIsNoWindow() {
        #expect(IOVAWindows.parse("") == [])
        #expect(IOVAWindows.covers("", 0) == false)
    }

    /// Anything but the written form is not a window list: covers() is then unknown, never false.
    @Test(arguments: ["0x0", "0x0-", "-0x1", "0x1-0x0", "0X0-0x1", "0x0-0xA", "0x0-0x1,", ",0x0-0x1", "0x0-0x1 ", "0x-0x1",
                      "0x0-0x10000000000000000", "0x0-0x1;0x2-0x3", "unknown", "0x0-0x1,,0x2-0x3"])
    func malformedTextIsNotAList(text: String) {
        #expect(IOVAWindows.parse(text) == nil, "\(text)")
        #expect(IOVAWindows.covers(text, 0) == nil, "\(text)")
    }

    @Test func sixteenDigitsAndLeadingZerosParse() {
        #expect(IOVAWindows.parse("0x00-0xffffffffffffffff") == [IOVARange(start: 0, end: .max)])
    }

    /// What several containers have in common: sorted, merged, and only addresses all of them map.
    @Test func intersectionKeepsWhatEveryListCovers() {
        let aw48 = IOVAWindows.parse(Self.captured)!
        let aw39 = IOVAWindows.parse("0x0-0xfedfffff,0xfef00000-0x7fffffffff")!
        #expect(IOVAWindows.text(IOVAWindows.intersection([aw48, aw39])) == "0x0-0xfedfffff,0xfef00000-0x7fffffffff")
        let shifted = [IOVARange(start: 0x1000, end: 0xfef0_0fff)]
        #expect(IOVAWindows.text(IOVAWindows.intersection([aw48, shifted])) == "0x1000-0xfedfffff,0xfef00000-0xfef00fff")
        #expect(IOVAWindows.intersection([aw48, []]) == [])
        #expect(IOVAWindows.intersection([]) == [])
        let touching = [IOVARange(start: 0x2000, end: .max), IOVARange(start: 0, end: 0x1fff)]
        #expect(IOVAWindows.intersection([touching]) == [IOVARange(start: 0, end: .max)], "touching windows merge")
    }
}
