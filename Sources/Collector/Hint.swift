/// What an errno on a collector step means, for the `detail` of a source: said only where the errno
/// tells it (a guess attached to every failure would mislead more than it helps).
enum Hint {
    /// `open /dev/iommu: ENOENT (the kernel has no iommufd: CONFIG_IOMMUFD is not set)`.
    static func step(_ what: String, _ e: Errno, path: String? = nil) -> String {
        guard let hint = text(e, path: path) else { return "\(what): \(e.name)" }
        return "\(what): \(e.name) (\(hint))"
    }

    static func text(_ e: Errno, path: String?) -> String? {
        switch e.name {
        case "EACCES", "EPERM":
            return "permission denied: run the collector as root, or grant its user this device"
        case "ENODEV", "ENXIO":
            return "no device: it was unbound or removed"
        case "EBUSY":
            return "in use by another process (a VM holds it): not touched"
        case "ENOENT":
            guard let path else { return nil }
            if path.hasSuffix("/iommu") { return "the kernel has no iommufd: CONFIG_IOMMUFD is not set" }
            if path.hasSuffix("/vfio/vfio") { return "the kernel has no VFIO container: CONFIG_VFIO_CONTAINER is not set" }
            if path.hasSuffix("/vfio/devices") {
                return "no vfio device cdevs: kernel without CONFIG_VFIO_DEVICE_CDEV, or no device bound to a vfio driver"
            }
            if path.hasSuffix("/vfio") { return "no VFIO: kernel without CONFIG_VFIO, or no device bound to a vfio driver" }
            return nil
        default:
            return nil
        }
    }
}
