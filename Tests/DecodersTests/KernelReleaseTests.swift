import Testing
@testable import Decoders

@Suite struct KernelReleaseTests {
    @Test func parsesDistributionRelease() {
        let k = KernelRelease("6.1.0-56-amd64")
        #expect(k.major == 6 && k.minor == 1 && k.patch == 0)
        #expect(k.flavour == "-56-amd64")
    }

    @Test func ordersNumericallyNotAsText() {
        #expect(KernelRelease("5.9.16") < KernelRelease("5.10"))
        #expect(KernelRelease("5.10.0-rc1") > KernelRelease("5.9.255"))
        #expect(KernelRelease("6.12.95+deb12-amd64") > KernelRelease("6.6.1"))
        #expect(KernelRelease("4.19") < KernelRelease("4.19.1"))
    }

    @Test func keepsFlavourAfterTwoNumbers() {
        let k = KernelRelease("5.8+vsva")
        #expect(k.major == 5 && k.minor == 8 && k.patch == 0)
        #expect(k.flavour == "+vsva")
    }

    @Test func nonVersionTextDoesNotCrash() {
        let k = KernelRelease("linux")
        #expect(k.major == 0 && k.flavour == "linux")
        #expect(KernelRelease("").major == 0)
        #expect(KernelRelease("99999999999999999999.1").major == 999999999)
    }
}
