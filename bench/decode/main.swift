// Decode throughput, single core: `swift run -c release capreg-bench [seconds-per-figure]`.
// Prints decodes per second for each shape, side by side, in one run.
import Decoders
import Foundation

let secondsPerFigure = Double(CommandLine.arguments.dropFirst().first ?? "") ?? 1.0

/// Little-endian composer for the bench's own buffer (fact sheet offsets).
struct LE {
    var b: [UInt8] = []
    mutating func u16(_ v: UInt16) { for i in 0..<2 { b.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { b.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { b.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
}

/// A 6.1-style buffer with four capabilities: MIGRATION@24, DMA_AVAIL@56, IOVA_RANGE@68 (2 ranges),
/// and a v8 NESTING capability (id 4, 72 bytes) @116.
func fourCapabilityBuffer() -> [UInt8] {
    var e = LE()
    e.u32(188); e.u32(3); e.u64(0x4020_1000); e.u32(24); e.u32(0)
    e.u16(2); e.u16(1); e.u32(56); e.u32(0); e.u32(0); e.u64(0x1000); e.u64(0x1000_0000)
    e.u16(3); e.u16(1); e.u32(68); e.u32(0xffff)
    e.u16(1); e.u16(1); e.u32(116); e.u32(2); e.u32(0)
    e.u64(0); e.u64(0xfed_fffff); e.u64(0xfef0_0000); e.u64(0xffff_ffff_ffff)
    e.u16(4); e.u16(1); e.u32(0)
    e.u32(64); e.u32(0); e.u32(1); e.u32(3); e.u16(48); e.u16(20); for _ in 0..<3 { e.u32(0) }
    e.u32(0); for _ in 0..<3 { e.u32(0) }; e.u64(1 << 56); e.u64((1 << 29) | (1 << 40))
    precondition(e.b.count == 188)
    return e.b
}

/// Runs `body` repeatedly for about `secondsPerFigure` and returns operations per second.
func rate(_ body: () -> Int) -> Double {
    var ops = 0
    var sink = 0
    let start = DispatchTime.now().uptimeNanoseconds
    var elapsed: UInt64 = 0
    while elapsed < UInt64(secondsPerFigure * 1e9) {
        for _ in 0..<1000 { sink &+= body() }
        ops += 1000
        elapsed = DispatchTime.now().uptimeNanoseconds - start
    }
    if sink == 42 { print("") }  // keep the work observable
    return Double(ops) / (Double(elapsed) / 1e9)
}

func show(_ label: String, _ perSecond: Double) {
    print(label.padding(toLength: 52, withPad: " ", startingAt: 0) + String(format: "%12.0f /s  %8.1f ns each", perSecond, 1e9 / perSecond))
}

let buffer = fourCapabilityBuffer()
let info = try! VFIOInfo.decode(buffer)
precondition(info.capabilities.map(\.name) == ["migration", "dma_avail", "iova_range", "nesting"])
let kernel = KernelRelease("5.12.0+vsva")
let legacyCap: UInt64 = 0xd2_008c_2226_0286, legacyEcap: UInt64 = 0xf0_0f4a

print("capreg decode throughput, one core, \(secondsPerFigure)s per figure")
show("VFIO info, 4 capabilities: chain decode", rate { (try? VFIOInfo.decode(buffer))?.capabilities.count ?? 0 })
show("VFIO info, 4 capabilities: chain decode, kernel given", rate { (try? VFIOInfo.decode(buffer, kernel: kernel))?.capabilities.count ?? 0 })
show("VFIO info, 4 capabilities: chain decode + facts", rate { (try? VFIOInfo.decode(buffer))?.facts.count ?? 0 })
show("VT-d CAP/ECAP pair: facts from integers", rate { VTdRegisters.decode(cap: legacyCap, ecap: legacyEcap).count })
show("VT-d CAP/ECAP pair: facts from sysfs text", rate { (try? VTdRegisters.decode(capText: "d2008c22260286\n", ecapText: "f00f4a\n"))?.count ?? 0 })
