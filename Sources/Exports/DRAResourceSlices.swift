import Decoders
import JSONText
import Report

/// Kubernetes Dynamic Resource Allocation: a host's PCI devices as `resource.k8s.io/v1` ResourceSlices,
/// published centrally (one pool per node, named as the node) so that DeviceClass CEL selectors can ask
/// what capreg knows. Pure: the hosts come in, JSON objects go out (docs/dra.md; the API's limits in
/// docs/dra-facts.md).
///
/// Each device gets the attributes of its own facts and of its host's IOMMU and kernel, under the driver
/// name's domain (unqualified names), plus `resource.kubernetes.io/pciBusID`. An unknown fact is no
/// attribute at all, never a false or a zero: a selector reading it fails for that device, which
/// Kubernetes treats as not selected.
public enum DRAResourceSlices {
    public static let defaultDriver = "capreg.io"
    /// The API's bounds (Kubernetes 1.34, resource.k8s.io/v1).
    public static let maxDevicesPerSlice = 128
    public static let maxAttributesPerDevice = 32
    public static let maxStringLength = 64

    /// One host as exported.
    public struct Host: Sendable {
        public var hostname: String
        /// The host's current facts by name.
        public var facts: [String: FactValue]
        public var kernelRelease: String?
        /// The pool's generation: grows when the host's current report changes (its registry revision).
        public var generation: Int64
        public var devices: [DeviceFacts]

        public init(hostname: String, facts: [String: FactValue], kernelRelease: String?, generation: Int64, devices: [DeviceFacts]) {
            self.hostname = hostname
            self.facts = facts
            self.kernelRelease = kernelRelease
            self.generation = generation
            self.devices = devices
        }
    }

    /// What a device attribute holds (exactly one of the API's four kinds).
    public enum Attribute: Hashable, Sendable {
        case int(Int64), bool(Bool), string(String), version(String)
    }

    /// Device facts → attribute names, in the order written.
    static let deviceAttributes: [(fact: String, attribute: String)] = [
        (PCIDevice.vendorID, "vendorId"), (PCIDevice.deviceID, "deviceId"), (PCIDevice.classCode, "classCode"),
        (PCIDevice.iommuGroup, "iommuGroup"), (PCIDevice.iommuUnit, "iommuUnit"), (PCIDevice.driver, "driver"),
        (PCIDevice.vfioCdev, "vfioCdev"), (PCIDevice.ats, "ats"), (PCIDevice.pri, "pri"), (PCIDevice.pasid, "pasid"),
        (PCIDevice.pasidBits, "pasidBits"), (PCIDevice.pasidExec, "pasidExec"), (PCIDevice.pasidPriv, "pasidPriv"),
        (PCIDevice.maxPasidLog2, "maxPasidLog2"), (PCIDevice.dirtyTracking, "dirtyTracking"), (PCIDevice.nesting, "deviceNesting"),
    ]
    /// The host's IOMMU answers every device of it shares (CrossVendor's usable names).
    static let hostAttributes: [(fact: String, attribute: String)] = [
        (CrossVendor.vendor, "iommuVendor"), (CrossVendor.nesting, "nesting"), (CrossVendor.pasidBind, "pasidBind"),
        (CrossVendor.pasidBits, "iommuPasidBits"), (CrossVendor.addrWidth, "addrWidth"),
        (CrossVendor.firstLevelFormat, "firstLevelFormat"), (CrossVendor.dirtyTracking, "iommuDirtyTracking"),
    ]
    public static let pciBusID = "resource.kubernetes.io/pciBusID"

    /// Every attribute name a device may carry, unqualified ones first (docs and tests).
    public static var attributeNames: [String] {
        deviceAttributes.map(\.attribute) + hostAttributes.map(\.attribute) + ["kernel", "kernelRelease", pciBusID]
    }

    /// A device's attributes: its own facts, its host's, the kernel as a semantic version and as text.
    public static func attributes(_ device: DeviceFacts, of host: Host) -> [(String, Attribute)] {
        var out: [(String, Attribute)] = [(pciBusID, .string(device.bdf))]
        func add(_ name: String, _ value: FactValue?) {
            switch value {
            case .bool(let b)?: out.append((name, .bool(b)))
            case .int(let i)?: out.append((name, .int(i)))
            // Longer text would be refused by the API server: left out (unknown), never cut.
            case .text(let s)? where s.utf8.count <= maxStringLength: out.append((name, .string(s)))
            default: break
            }
        }
        for (fact, attribute) in deviceAttributes { add(attribute, device[fact]) }
        for (fact, attribute) in hostAttributes { add(attribute, host.facts[fact]) }
        if let release = host.kernelRelease {
            let k = KernelRelease(release)
            // major.minor.patch only: a flavour as a semver pre-release would sort 6.1.0-56-amd64 before 6.1.0.
            if k.major > 0 || k.minor > 0 { out.append(("kernel", .version("\(k.major).\(k.minor).\(k.patch)"))) }
            add("kernelRelease", .text(release))
        }
        return out
    }

    /// A device's name: a DNS label from its PCI address (`0000:3b:00.0` → `pci-0000-3b-00-0`).
    public static func deviceName(_ bdf: String) -> String {
        "pci-" + String(bdf.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" })
    }

    /// Whether `name` is a DNS-1123 subdomain (node names, object names): lower-case letters, digits, `-`
    /// and `.`, labels starting and ending alphanumeric, at most 253 bytes.
    public static func isDNSSubdomain(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        return name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            guard let first = label.utf8.first, let last = label.utf8.last, label.utf8.count <= 63 else { return false }
            func alnum(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) }
            return alnum(first) && alnum(last) && label.utf8.allSatisfy { alnum($0) || $0 == 0x2D }
        }
    }

    /// Whether `name` is a DRA driver name: a DNS subdomain of at most 63 bytes.
    public static func isDriverName(_ name: String) -> Bool { name.utf8.count <= 63 && isDNSSubdomain(name) }

    /// A Kubernetes List of slices, keys in byte order like the slices' own (apiVersion, items, kind,
    /// metadata): `listHead`, the slices joined by commas, `listTail` with the next page's cursor if any.
    /// The one writer of such a List: the endpoint's pages, `capreg export dra`'s output and its files.
    public static let listHead = Array(#"{"apiVersion":"v1","items":["#.utf8)

    public static func listTail(continue next: String? = nil) -> [UInt8] {
        var w = JSONWriter(capacity: 64)
        w.objectStart()
        if let next { w.key("continue"); w.string(next) }
        w.objectEnd()
        return Array(#"],"kind":"List","metadata":"#.utf8) + w.bytes + [UInt8(ascii: "}")]
    }

    public static func list(_ slices: [[UInt8]], continue next: String? = nil) -> [UInt8] {
        var out = listHead
        for (i, slice) in slices.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out += slice
        }
        return out + listTail(continue: next)
    }

    /// Why a host cannot be exported, or nil.
    public static func refusal(_ host: Host) -> String? {
        guard isDNSSubdomain(host.hostname) else { return "hostname \(host.hostname.prefix(80)) is not a Kubernetes node name (a DNS subdomain)" }
        // Room for the slice name's driver label and index within 253 bytes.
        guard host.hostname.utf8.count <= 230 else { return "hostname \(host.hostname.prefix(80))… is over 230 bytes: no room for its slices' names" }
        return nil
    }

    /// The host's slices (none without devices), each at most 128 devices, all of one pool generation.
    /// Bridges (PCI class 0x06) are no devices to hand to a VM and are left out.
    public static func slices(_ host: Host, driver: String = defaultDriver) -> [[UInt8]] {
        let devices = host.devices.filter { d in
            if case .text(let c)? = d[PCIDevice.classCode] { return !c.hasPrefix("0x06") }
            return true
        }
        guard refusal(host) == nil, !devices.isEmpty else { return [] }
        let chunks = stride(from: 0, to: devices.count, by: maxDevicesPerSlice).map { Array(devices[$0..<min($0 + maxDevicesPerSlice, devices.count)]) }
        // Keys in byte order at every level, so that the bytes are those of any JSON writer sorting keys
        // (capreg export dra --out compares files by bytes, whether the slices came from --db or --server).
        return chunks.enumerated().map { i, chunk in
            var w = JSONWriter(capacity: 1024 * chunk.count)
            w.objectStart()
            w.key("apiVersion"); w.string("resource.k8s.io/v1")
            w.key("kind"); w.string("ResourceSlice")
            w.key("metadata"); w.objectStart()
            w.key("labels"); w.objectStart(); w.key("app.kubernetes.io/managed-by"); w.string("capreg"); w.objectEnd()
            w.key("name"); w.string(sliceName(host.hostname, index: i, of: chunks.count, driver: driver))
            w.objectEnd()
            w.key("spec"); w.objectStart()
            w.key("devices"); w.arrayStart()
            for device in chunk {
                w.objectStart()
                w.key("attributes"); w.objectStart()
                let attributes = attributes(device, of: host).prefix(maxAttributesPerDevice).sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
                for (name, value) in attributes {
                    w.key(name); w.objectStart()
                    switch value {
                    case .int(let n): w.key("int"); w.int(n)
                    case .bool(let b): w.key("bool"); w.bool(b)
                    case .string(let s): w.key("string"); w.string(s)
                    case .version(let v): w.key("version"); w.string(v)
                    }
                    w.objectEnd()
                }
                w.objectEnd()
                w.key("name"); w.string(deviceName(device.bdf))
                w.objectEnd()
            }
            w.arrayEnd()
            w.key("driver"); w.string(driver)
            w.key("nodeName"); w.string(host.hostname)
            w.key("pool"); w.objectStart()
            w.key("generation"); w.int(host.generation)
            w.key("name"); w.string(host.hostname)
            w.key("resourceSliceCount"); w.int(chunks.count)
            w.objectEnd()
            w.objectEnd()
            w.objectEnd()
            return w.bytes
        }
    }

    /// `<driver's first label>.<node>` (and `.<i>` past the first of several): unique per node and driver,
    /// a DNS subdomain (a node name of over 230 bytes is refused before, `refusal`).
    public static func sliceName(_ node: String, index: Int = 0, of count: Int = 1, driver: String = defaultDriver) -> String {
        (driver.split(separator: ".").first.map { $0.lowercased() } ?? "dra") + "." + node + (count > 1 ? ".\(index)" : "")
    }
}
