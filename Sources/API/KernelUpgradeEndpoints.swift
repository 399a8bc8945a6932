import Decoders
import Foundation
import Query
import Server
import Store

/// GET /v1/audits/kernel-upgrades and GET /v1/audits/kernel-upgrades/predict (docs/audits.md). The
/// parameters are spelled once here (`KernelUpgradeParameters`): the endpoints read them, and `capreg
/// audit --server` writes them.
extension API {
    func kernelUpgrades(_ request: HTTPRequest, _ store: Registry) throws -> HTTPResponse {
        let p = try Parameters(request, allowed: KernelUpgradeParameters.report)
        let asked = try KernelUpgradeParameters.report(p)
        do {
            return .json(KernelUpgradeJSON.report(try store.kernelUpgrades(asked), asked))
        } catch let error as AuditRequestError {
            throw APIError.badParameter(error.parameter, error.message)
        }
    }

    func kernelUpgradePrediction(_ request: HTTPRequest, _ store: Registry) throws -> HTTPResponse {
        let p = try Parameters(request, allowed: KernelUpgradeParameters.prediction)
        let asked = try KernelUpgradeParameters.prediction(p)
        do {
            return .json(KernelUpgradeJSON.prediction(try store.predictUpgrade(asked), asked))
        } catch let error as AuditRequestError {
            throw APIError.badParameter(error.parameter, error.message)
        }
    }
}

/// The query parameters of the two audits, both ways.
public enum KernelUpgradeParameters {
    static let report: Set<String> = ["from", "to", "flavours", "layers", "fact", "host_limit", "hosts_after"]
    static let prediction: Set<String> = ["from", "to", "layers", "host_limit", "hosts_after"]

    /// The query items that ask a server for `request` (what the endpoint reads back as the same request).
    public static func items(_ request: KernelUpgradeRequest) -> [(String, String)] {
        var items: [(String, String)] = []
        if let from = request.from { items.append(("from", from.text)) }
        if let to = request.to { items.append(("to", to.text)) }
        if request.flavoursApart { items.append(("flavours", "apart")) }
        items.append(("layers", layerText(request.layers)))
        if let fact = request.fact { items.append(("fact", fact)) }
        items.append(("host_limit", String(request.hostLimit)))
        if let after = request.hostsAfter { items.append(("hosts_after", after)) }
        return items
    }

    public static func items(_ request: UpgradePredictionRequest) -> [(String, String)] {
        var items: [(String, String)] = [("to", request.to.text)]
        if let from = request.from { items.append(("from", from.text)) }
        items.append(("layers", layerText(request.layers)))
        items.append(("host_limit", String(request.hostLimit)))
        if let after = request.hostsAfter { items.append(("hosts_after", after)) }
        return items
    }

    static func report(_ p: Parameters) throws(APIError) -> KernelUpgradeRequest {
        var request = KernelUpgradeRequest(from: try kernel(p, "from"), to: try kernel(p, "to"))
        switch p.string("flavours") {
        case nil, "grouped": request.flavoursApart = false
        case "apart": request.flavoursApart = true
        case let other?: throw APIError.badParameter("flavours", "grouped or apart, found \"\(other.prefix(40))\"")
        }
        if let layers = try layers(p) { request.layers = layers }
        if let fact = p.string("fact") {
            guard Vocabulary.entry(fact) != nil else {
                throw APIError.badParameter("fact", "\"\(fact.prefix(80))\" is not a host fact of the vocabulary (GET /v1/capabilities)")
            }
            request.fact = fact
        }
        request.hostLimit = try hostLimit(p)
        request.hostsAfter = try hostsAfter(p)
        return request
    }

    static func prediction(_ p: Parameters) throws(APIError) -> UpgradePredictionRequest {
        guard let to = try kernel(p, "to") else {
            throw APIError.badParameter("to", "required: the kernel about to be rolled out, e.g. 6.12")
        }
        var request = UpgradePredictionRequest(to: to)
        request.from = try kernel(p, "from")
        if let layers = try layers(p) { request.layers = layers }
        request.hostLimit = try hostLimit(p)
        request.hostsAfter = try hostsAfter(p)
        return request
    }

    static func kernel(_ p: Parameters, _ name: String) throws(APIError) -> KernelVersion? {
        guard let text = p.string(name) else { return nil }
        switch KernelVersion.parse(text) {
        case .success(let version): return version
        case .failure(let error): throw APIError.badParameter(name, "expected \(error.message), found \"\(text.prefix(40))\"")
        }
    }

    /// `layers=usable,hardware`: FactLayer names, comma separated.
    static func layers(_ p: Parameters) throws(APIError) -> Set<FactLayer>? {
        guard let text = p.string("layers") else { return nil }
        var layers = Set<FactLayer>()
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let layer = FactLayer(rawValue: String(part)) else {
                throw APIError.badParameter("layers", "a comma-separated list of \(FactLayer.allCases.map(\.rawValue).joined(separator: ", ")); found \"\(part.prefix(40))\"")
            }
            layers.insert(layer)
        }
        return layers
    }

    public static func layerText(_ layers: Set<FactLayer>) -> String {
        FactLayer.allCases.filter(layers.contains).map(\.rawValue).joined(separator: ",")
    }

    static func hostLimit(_ p: Parameters) throws(APIError) -> Int {
        guard let text = p.string("host_limit") else { return 10 }
        guard let n = Parameters.wholeNumber(text), n <= KernelUpgradeRequest.maxHostLimit else {
            throw APIError.badParameter("host_limit", "expected a whole number within 0…\(KernelUpgradeRequest.maxHostLimit), found \"\(text.prefix(40))\"")
        }
        return Int(n)
    }

    static func hostsAfter(_ p: Parameters) throws(APIError) -> String? {
        guard let text = p.string("hosts_after") else { return nil }
        guard !text.isEmpty, text.utf8.count <= 255, !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw APIError.badParameter("hosts_after", "a hostname: 1 to 255 bytes, no control characters")
        }
        return text
    }
}

/// The two audits' JSON documents: what the endpoints answer and what `capreg audit --db --json` prints.
public enum KernelUpgradeJSON {
    public static func report(_ report: KernelUpgradeReport, _ request: KernelUpgradeRequest) -> JSONValue {
        .object([
            ("from", .optional(request.from?.text)),
            ("to", .optional(request.to?.text)),
            ("flavours", .string(request.flavoursApart ? "apart" : "grouped")),
            ("layers", layers(request.layers)),
            ("moves", .int(report.moves)),
            ("pairs", .array(report.pairs.map { pair in
                .object([
                    ("from", .string(pair.from)),
                    ("to", .string(pair.to)),
                    ("direction", .string(pair.isUpgrade ? "upgrade" : "downgrade")),
                    ("hosts", .int(pair.hosts)),
                    ("moves", .int(pair.moves)),
                    ("causes", causes(pair.causes)),
                    ("changes", .array(pair.changes.map { change in
                        .object(valueChange(change.name, change.layer, change.change, change.before, change.after,
                                            HostList(count: change.hosts, hostnames: change.hostnames, moreHosts: change.moreHosts))
                                + [("causes", causes(change.causes))])
                    })),
                ])
            })),
        ])
    }

    public static func prediction(_ prediction: UpgradePrediction, _ request: UpgradePredictionRequest) -> JSONValue {
        .object([
            ("to", .string(request.to.text)),
            ("from", .optional(request.from?.text)),
            ("layers", layers(request.layers)),
            ("losers", .int(prediction.losers)),
            ("losers_without_registers", .int(prediction.losersWithoutRegisters)),
            ("candidates", .int(prediction.candidates)),
            ("hardware", .array(prediction.classes.map { hardware in
                .object([
                    ("id", .string(hardware.id)),
                    ("vendor", .optional(hardware.vendor)),
                    ("losers", .int(hardware.losers)),
                    ("lost", .array(hardware.lost.map(JSONValue.string))),
                    ("candidates", .int(hardware.candidates)),
                    ("hostnames", .array(hardware.hostnames.map(JSONValue.string))),
                    ("next_hosts_after", hardware.moreHosts ? .optional(hardware.hostnames.last) : .null),
                ])
            })),
        ])
    }

    /// A fact's value change as both audits write it: the fact, its layer, the kind of change, the values
    /// before and after (null: absent), and the hosts (count, first names, where the next page starts).
    static func valueChange(_ name: String, _ layer: FactLayer, _ change: ValueChange, _ before: FactValue?, _ after: FactValue?,
                            _ hosts: HostList) -> [(String, JSONValue)] {
        [("fact", .string(name)), ("layer", .string(layer.rawValue)), ("change", .string(change.rawValue)),
         ("before", before.map(FactsJSON.value) ?? .null), ("after", after.map(FactsJSON.value) ?? .null)] + FleetDiffJSON.listMembers(hosts)
    }

    static func layers(_ layers: Set<FactLayer>) -> JSONValue {
        .array(FactLayer.allCases.filter(layers.contains).map { .string($0.rawValue) })
    }

    static func causes(_ causes: [ChangeCause: Int]) -> JSONValue {
        .object(ChangeCause.allCases.map { ($0.rawValue, .int(causes[$0] ?? 0)) })
    }
}
