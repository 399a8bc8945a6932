import Report

/// `/sys/class/iommu/*`: Intel units (`intel-iommu/{version,address,cap,ecap}`) and AMD units
/// (`amd-iommu/{cap,features}`), each file's exact text kept as the source's raw JSON object
/// (fact sheet §5). Units without register attributes (SMMUv3) are not sources.
public enum SysfsSource {
    public static let intelFiles = ["version", "address", "cap", "ecap"]
    public static let amdFiles = ["cap", "features"]

    /// `root` is the sysfs mount point (`/sys`, or a captured tree given with --sysfs-root).
    public static func collect(root: String) -> [Report.Source] {
        let classDir = root + "/class/iommu"
        let units: [String]
        switch FileReader.list(classDir) {
        case .success(let names): units = names
        case .failure(let e):
            // No IOMMU class at all (no IOMMU, or sysfs not mounted): say so rather than report nothing.
            return [Report.Source(kind: .sysfsIntel, unit: "sysfs", status: .unavailable, reason: e.name,
                                  detail: "\(classDir): \(e.name)")]
        }
        var out: [Report.Source] = []
        for unit in units {
            let dir = classDir + "/" + unit
            if FileReader.isDirectory(dir + "/intel-iommu") {
                out.append(read(kind: .sysfsIntel, unit: unit, dir: dir + "/intel-iommu", files: intelFiles))
            } else if FileReader.isDirectory(dir + "/amd-iommu") {
                out.append(read(kind: .sysfsAMD, unit: unit, dir: dir + "/amd-iommu", files: amdFiles))
            }
        }
        return out
    }

    /// One unit: every file read, or unavailable naming the first file that could not be.
    static func read(kind: SourceKind, unit: String, dir: String, files: [String]) -> Report.Source {
        var texts: [String: String] = [:]
        for name in files {
            switch FileReader.text(dir + "/" + name) {
            case .success(let text): texts[name] = text
            case .failure(let e):
                return Report.Source(kind: kind, unit: unit, status: .unavailable, reason: e.name, detail: "\(dir)/\(name): \(e.name)")
            }
        }
        return Report.Source(kind: kind, unit: unit, raw: SourceDecoder.sysfsRaw(texts))
    }
}
