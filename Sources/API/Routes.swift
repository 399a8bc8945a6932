import Server
import Store

/// Every endpoint, the method it answers and the role it needs. Matching is on path segments, so the
/// route is known before auth: unknown paths get 404 and wrong methods 405 with `Allow`, whoever asks.
enum Route: String, CaseIterable, Sendable {
    case reports = "/v1/reports"
    case enroll = "/v1/enroll"
    case hosts = "/v1/hosts"
    case host = "/v1/hosts/{host}"
    case hostHistory = "/v1/hosts/{host}/history"
    case changes = "/v1/changes"
    case watch = "/v1/watch"
    case kernels = "/v1/kernels"
    case capabilities = "/v1/capabilities"
    case profiles = "/v1/profiles"
    case draExport = "/v1/exports/dra"
    case historyExport = "/v1/exports/history"
    case kernelUpgrades = "/v1/audits/kernel-upgrades"
    case kernelUpgradePrediction = "/v1/audits/kernel-upgrades/predict"
    case fleetDiff = "/v1/audits/fleet-diff"
    case factProvenance = "/v1/hosts/{host}/facts/{name}/provenance"
    case stats = "/v1/stats"
    case healthz = "/healthz"
    case readyz = "/readyz"
    case metrics = "/metrics"
    // The dashboard's HTML pages (Sources/Dashboard): readers only, like every GET.
    case dashboard = "/"
    case uiQuery = "/ui/query"
    case uiHost = "/ui/host"
    case uiChanges = "/ui/changes"
    case uiAudits = "/ui/audits"

    var method: String { self == .reports || self == .enroll ? "POST" : "GET" }

    /// Answers HTML (its refusals too), not JSON.
    var isDashboard: Bool { self == .dashboard || self == .uiQuery || self == .uiHost || self == .uiChanges || self == .uiAudits }

    /// The `Allow` header for a 405 (HEAD is answered wherever GET is).
    var allow: String { method == "GET" ? "GET, HEAD" : method }

    /// Reads the store for a query, so waits for a read slot (ReadGate). Probes, /metrics and writes do not:
    /// they must answer while every slot is held by slow queries.
    var readsStore: Bool {
        switch self {
        case .healthz, .readyz, .metrics, .reports, .enroll: return false
        default: return true
        }
    }

    /// nil: no token needed (probes must work before anyone has a token; an enrollment's code is its credential).
    var role: Role? {
        switch self {
        case .healthz, .readyz, .enroll: return nil
        case .reports: return .collector
        // Every payload as received, with writers and peer addresses: the whole history is an admin's.
        case .historyExport: return .admin
        default: return .reader
        }
    }

    /// The route for decoded path segments (and the `{host}` value), or nil for an unknown path.
    static func match(_ segments: [String]) -> (Route, host: String?)? {
        switch segments.count {
        case 0:
            return (.dashboard, nil)
        case 1:
            switch segments[0] {
            case "healthz": return (.healthz, nil)
            case "readyz": return (.readyz, nil)
            case "metrics": return (.metrics, nil)
            default: return nil
            }
        case 2 where segments[0] == "v1":
            switch segments[1] {
            case "reports": return (.reports, nil)
            case "enroll": return (.enroll, nil)
            case "hosts": return (.hosts, nil)
            case "changes": return (.changes, nil)
            case "watch": return (.watch, nil)
            case "kernels": return (.kernels, nil)
            case "capabilities": return (.capabilities, nil)
            case "profiles": return (.profiles, nil)
            case "stats": return (.stats, nil)
            default: return nil
            }
        case 2 where segments[0] == "ui":
            switch segments[1] {
            case "query": return (.uiQuery, nil)
            case "host": return (.uiHost, nil)
            case "changes": return (.uiChanges, nil)
            case "audits": return (.uiAudits, nil)
            default: return nil
            }
        case 3 where segments[0] == "v1" && segments[1] == "exports" && segments[2] == "dra":
            return (.draExport, nil)
        case 3 where segments[0] == "v1" && segments[1] == "exports" && segments[2] == "history":
            return (.historyExport, nil)
        case 3 where segments[0] == "v1" && segments[1] == "audits" && segments[2] == "kernel-upgrades":
            return (.kernelUpgrades, nil)
        case 3 where segments[0] == "v1" && segments[1] == "audits" && segments[2] == "fleet-diff":
            return (.fleetDiff, nil)
        case 4 where segments[0] == "v1" && segments[1] == "audits" && segments[2] == "kernel-upgrades" && segments[3] == "predict":
            return (.kernelUpgradePrediction, nil)
        case 3 where segments[0] == "v1" && segments[1] == "hosts" && !segments[2].isEmpty:
            return (.host, segments[2])
        case 4 where segments[0] == "v1" && segments[1] == "hosts" && !segments[2].isEmpty && segments[3] == "history":
            return (.hostHistory, segments[2])
        case 6 where segments[0] == "v1" && segments[1] == "hosts" && !segments[2].isEmpty && segments[3] == "facts" && !segments[4].isEmpty
            && segments[5] == "provenance":
            return (.factProvenance, segments[2])
        default:
            return nil
        }
    }

    /// The metrics label for a raw (still percent-encoded) path: the route template, `unmatched`, or
    /// `none` for requests that never parsed. Encoding cannot change which template matches, because
    /// only the `{host}` and `{name}` segments may hold escapes.
    static func label(forRawPath path: String) -> String {
        if path.isEmpty { return "none" }
        guard path.hasPrefix("/") else { return "unmatched" }
        let segments = path == "/" ? [] : path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        return match(segments).map { $0.0.rawValue } ?? "unmatched"
    }
}
