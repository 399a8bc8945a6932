import Decoders
import Foundation
import Report

/// A capability version as stored: the raw bytes exactly as reported, and the decoded values
/// (`{"facts":{…},"notes":[…]}`) written by the decoder version that read them.
public struct StoredCapability: Sendable, Hashable {
    public var unit: String
    public var capability: String
    public var version: Int
    public var kernelRelease: String
    public var raw: [UInt8]
    public var decoderVersion: Int
    /// JSON text as the store wrote it (DecodedJSON).
    public var decodedJSON: String
    public var validFrom: Date
}

public struct HostDetail: Sendable, Hashable {
    /// The registry revision the state and capabilities were read at (same transaction).
    public var revision: Int64
    public var state: HostState
    /// Open capability versions, ordered by unit then capability.
    public var capabilities: [StoredCapability]
    /// The PCI devices of its current report with their facts (those of the kernel included), by address.
    public var devices: [DeviceFacts] = []
}

enum CapabilitySQL {
    static let currentOfHost = """
        SELECT unit, capability, capability_version, kernel_release, raw, decoder_version, decoded, valid_from
        FROM capability_versions WHERE host_id = ? AND valid_to = ? ORDER BY unit, capability
        """
}

extension Registry {
    /// The host's current facts and every open capability version, read in one transaction with the
    /// revision that stamps them; nil for an unknown host.
    public func hostDetail(hostname: String) throws -> HostDetail? {
        try budgetedRead { db in
            guard let (id, state) = try currentState(db, hostname: hostname) else { return nil }
            let capabilities = try db.rows(CapabilitySQL.currentOfHost, [id, StoreTime.openEnd]).map { row in
                StoredCapability(unit: row[0], capability: row[1], version: row[2], kernelRelease: row[3],
                                 raw: [UInt8]((row[4] as Data?) ?? Data()), decoderVersion: row[5], decodedJSON: row[6],
                                 validFrom: StoreTime.date(row[7]))
            }
            return HostDetail(revision: try Registry.revision(db), state: state, capabilities: capabilities,
                              devices: try Registry.currentDevices(db, hostnames: [hostname])[hostname] ?? [])
        }
    }
}
