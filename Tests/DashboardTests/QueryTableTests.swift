@testable import Dashboard
import Decoders
import Foundation
import Query
@testable import Store
import StoreSQLite
import Testing

@Suite("Query table: sorting and CSV")
struct QueryTableTests {
    func host(_ name: String, kernel: String?, facts: [Fact], labels: [String: String] = [:]) -> QueriedHost {
        QueriedHost(hostname: name, kernelRelease: kernel, reportedAt: Date(timeIntervalSince1970: 0), labels: labels, facts: .list(facts))
    }

    var table: QueryTable {
        QueryTable(columns: [.fact("pasid_bits", .int), .label("rack"), .kernel], hosts: [
            host("a", kernel: "6.1.0-18-amd64", facts: [Fact("pasid_bits", int: 20)], labels: ["rack": "r1"]),
            host("b", kernel: "5.15.0-91-generic", facts: [], labels: ["rack": "r0"]),
            host("c", kernel: "6.12.9-amd64", facts: [Fact("pasid_bits", int: 8)]),
            host("d", kernel: "5.4.0-150-generic", facts: [Fact("pasid_bits", int: 20)], labels: ["rack": "r2"]),
        ])
    }

    @Test("columns: hostname, kernel, then the terms (kernel not repeated)")
    func header() {
        #expect(table.header == ["hostname", "kernel", "pasid_bits", "label.rack"])
        #expect(table.rows[1] == ["b", "5.15.0-91-generic", nil, "r0"])
    }

    @Test("numbers sort as numbers, kernels as versions, absent values last in both directions")
    func sorting() {
        #expect(table.sorted(by: "pasid_bits", descending: false).hosts.map(\.hostname) == ["c", "a", "d", "b"])
        #expect(table.sorted(by: "pasid_bits", descending: true).hosts.map(\.hostname) == ["a", "d", "c", "b"])
        // 5.4 < 5.15 < 6.1 < 6.12: version order, not text order.
        #expect(table.sorted(by: "kernel", descending: false).hosts.map(\.hostname) == ["d", "b", "a", "c"])
        #expect(table.sorted(by: "label.rack", descending: true).hosts.map(\.hostname) == ["d", "a", "b", "c"])
        #expect(table.sorted(by: "hostname", descending: true).hosts.map(\.hostname) == ["d", "c", "b", "a"])
        #expect(table.sorted(by: "no-such-column", descending: true).hosts.map(\.hostname) == ["a", "b", "c", "d"])
    }

    @Test("CSV: RFC 4180 quoting, CRLF, absent as empty")
    func csvQuoting() {
        let t = QueryTable(columns: [.label("note")], hosts: [
            host("plain", kernel: "6.1.0", facts: [], labels: ["note": "a,b"]),
            host("quote\"d", kernel: nil, facts: [], labels: ["note": "line\nbreak"]),
            host("crlf", kernel: "6.1.0", facts: [], labels: ["note": "x\r\ny"]),
        ])
        #expect(t.csv() == "hostname,kernel,label.note\r\nplain,6.1.0,\"a,b\"\r\n\"quote\"\"d\",,\"line\nbreak\"\r\ncrlf,6.1.0,\"x\r\ny\"\r\n")
    }

    @Test("CSV: every cell a spreadsheet would run as a formula is guarded, kernel included; integers are not")
    func csvFormulas() {
        let t = QueryTable(columns: [.label("x"), .fact("vfio.dma_avail", .int)], hosts: [
            host("=HYPERLINK(\"http://evil\")", kernel: "-2+3", facts: [Fact("vfio.dma_avail", int: -1)], labels: ["x": "@SUM(A1)"]),
            host("+1", kernel: nil, facts: [], labels: ["x": "\tx"]),
        ])
        let lines = t.csv().components(separatedBy: "\r\n")
        #expect(lines[1] == "\"'=HYPERLINK(\"\"http://evil\"\")\",\"'-2+3\",\"'@SUM(A1)\",-1")
        #expect(lines[2] == "\"'+1\",,\"'\tx\",")
    }
}
