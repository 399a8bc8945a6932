// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "capreg",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "capreg", targets: ["capreg"]),
        // For bench/hummingbird-anchor (a separate package that serves the same API handler).
        .library(name: "CapregAPI", targets: ["API", "Server", "Store", "StoreSQLite", "Query"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        // The one HTTP client (RegistryClient): TLS and mutual TLS through SwiftNIO SSL, keep-alive pooling.
        // Statically linkable (BoringSSL inside), which the collector's static build needs; libcurl is not.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.100.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.30.0"),
        // The PostgreSQL backend's wire protocol (StorePostgres).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
    ],
    targets: [
        // Pure decoders: kernel bytes and register text in, typed facts out. Foundation only, no I/O.
        .target(name: "Decoders", path: "Sources/Decoders"),
        // RFC 3339 times in and out: the one parser and formatter every module uses. Foundation only, pure.
        .target(name: "Timestamps", path: "Sources/Timestamps"),
        // The collector's report (wire format), the one report decoder, and how its sources become capability records.
        .target(name: "Report", dependencies: ["Decoders", "Timestamps"], path: "Sources/Report"),
        // The query language: parser, type checker against the vocabulary, reference evaluator. Pure.
        .target(name: "Query", dependencies: ["Decoders"], path: "Sources/Query"),
        // JSON text written by hand (one escaper): error bodies, API answers, the store's encoded facts. Pure.
        .target(name: "JSONText", path: "Sources/JSONText"),
        // The one CSV writer (RFC 4180 quoting, spreadsheet formula guard): the dashboard's download and
        // `capreg query --csv`. No dependencies, so both may import it. Pure.
        .target(name: "CSVText", path: "Sources/CSVText"),
        // A synthetic fleet (seeded, reproducible): hosts, kernels, capability bytes and probes as real
        // collectors would report them; for `capreg synth`, tests and benchmarks. Pure.
        .target(name: "Synthetic", dependencies: ["Decoders", "Report", "JSONText"], path: "Sources/Synthetic"),
        // The registry's memory: ingest, versioned history, as-of and change queries, written once over the
        // backend interface (Store/SQL); both schemas (migrations/) carried in the binary.
        .target(name: "Store", dependencies: ["Decoders", "Report", "Query", "JSONText", "Timestamps"], path: "Sources/Store"),
        // The embedded default backend: one SQLite file through GRDB (WAL, a reader pool, one writer).
        .target(name: "StoreSQLite", dependencies: ["Store", "Decoders", .product(name: "GRDB", package: "GRDB.swift"),
                                                    .product(name: "GRDBSQLite", package: "GRDB.swift")],
                path: "Sources/StoreSQLite"),
        // The store's PostgreSQL backend: SQLDatabase over PostgresNIO, blocking callers' threads on its own event loops.
        .target(name: "StorePostgres", dependencies: ["Store",
                                                      .product(name: "PostgresNIO", package: "postgres-nio"),
                                                      .product(name: "NIOCore", package: "swift-nio"),
                                                      .product(name: "NIOPosix", package: "swift-nio"),
                                                      .product(name: "NIOSSL", package: "swift-nio-ssl"),
                                                      .product(name: "Logging", package: "swift-log")],
                path: "Sources/StorePostgres"),
        // capreg's answers in the schedulers' own terms: OpenStack Placement traits (and, with issue 17, Kubernetes
        // DRA devices). Pure: facts in, names out.
        .target(name: "Exports", dependencies: ["Decoders", "Query", "Report", "JSONText"], path: "Sources/Exports"),
        // `capreg sync placement`: capreg's traits onto the hosts' resource providers, through the one HTTP client.
        .target(name: "PlacementSync", dependencies: ["Exports", "RegistryClient"], path: "Sources/PlacementSync"),
        // HTTP/1.1 on Glibc sockets: parsing, limits, timeouts, keep-alive. Knows nothing about capabilities.
        .target(name: "Server", dependencies: ["JSONText"], path: "Sources/Server"),
        // The one HTTP client: the collector's pushes, `capreg query --server`, the tests. http and https (mTLS).
        .target(name: "RegistryClient", dependencies: [.product(name: "AsyncHTTPClient", package: "async-http-client"),
                                                       .product(name: "NIOCore", package: "swift-nio"),
                                                       .product(name: "NIOPosix", package: "swift-nio"),
                                                       .product(name: "NIOHTTP1", package: "swift-nio"),
                                                       .product(name: "NIOSSL", package: "swift-nio-ssl")],
                path: "Sources/RegistryClient"),
        // The agent: reads sysfs, VFIO and iommufd, builds reports, spools and pushes them.
        .target(name: "Collector", dependencies: ["Decoders", "Report", "Timestamps", "RegistryClient"], path: "Sources/Collector"),
        // The fleet dashboard: server-rendered HTML and SVG pages (no script), served by API under / and /ui/.
        .target(name: "Dashboard", dependencies: ["Store", "Query", "Decoders", "Server", "Timestamps", "CSVText"], path: "Sources/Dashboard"),
        // The HTTP API: routes, auth, endpoints' JSON, metrics. Store and Query behind, Server in front.
        .target(name: "API", dependencies: ["Store", "Server", "Decoders", "Report", "Query", "JSONText", "Dashboard", "Timestamps", "Exports"],
                path: "Sources/API"),
        .executableTarget(
            name: "capreg",
            dependencies: [
                "Decoders",
                "Exports",
                "PlacementSync",
                "Report",
                "Timestamps",
                "Query",
                "Store",
                "StoreSQLite",
                "StorePostgres",
                "Synthetic",
                "Collector",
                "Server",
                "API",
                "CSVText",
                "RegistryClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/capreg"
        ),
        // Decode throughput figures (run: swift run -c release capreg-bench).
        .executableTarget(name: "capreg-bench", dependencies: ["Decoders"], path: "bench/decode"),
        // Store ingest figures (run: swift run -c release capreg-store-bench --hosts 100000).
        // Database growth per unchanged report, heartbeats against reports rows, on both backends (bench/heartbeats/run.sh).
        .executableTarget(name: "capreg-heartbeat-bench", dependencies: ["Store", "StoreSQLite", "StorePostgres", "Synthetic", "Report"],
                          path: "bench/heartbeats", exclude: ["run.sh"]),
        .executableTarget(name: "capreg-store-bench", dependencies: ["Store", "StoreSQLite", "Synthetic", "Report", "Decoders", .product(name: "GRDB", package: "GRDB.swift")],
                          path: "bench/store"),
        // API figures in-process: the placement query's SQL floor, the store's page, the handler (bench/api/run.sh drives the rest).
        .executableTarget(name: "capreg-api-bench", dependencies: ["API", "Server", "Store", "StoreSQLite", "Query", .product(name: "GRDB", package: "GRDB.swift")],
                          path: "bench/api/floor"),
        // Helpers shared by the test targets: seeded random source and query text, temporary folders, the built capreg binary.
        // Foundation only, so any test target can use it without pulling in product modules.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        // The registry a store-backed test runs on: SQLite, or PostgreSQL with CAPREG_TEST_BACKEND=postgres.
        .target(name: "TestRegistry", dependencies: ["Store", "StoreSQLite", "StorePostgres", "Report", "TestSupport"], path: "Tests/TestRegistry"),
        .testTarget(name: "DecodersTests", dependencies: ["Decoders"], path: "Tests/DecodersTests"),
        // Runs the built capreg binary as a user would.
        .testTarget(name: "CLITests", dependencies: ["RegistryClient", "capreg", "Timestamps", "TestSupport", "PlacementSync"], path: "Tests/CLITests"),
        .testTarget(name: "ExportsTests", dependencies: ["Exports", "Decoders", "Query", "Report"], path: "Tests/ExportsTests"),
        .testTarget(name: "QueryTests", dependencies: ["Query", "Decoders", "TestSupport"], path: "Tests/QueryTests"),
        // The query language compiled to SQL, on real SQLite files.
        .testTarget(name: "StoreQueryTests", dependencies: ["Store", "StoreSQLite", "StorePostgres", "Synthetic", "Query", "Report", "Decoders", "TestSupport", "TestRegistry",
                                                          .product(name: "GRDB", package: "GRDB.swift")],
                    path: "Tests/StoreQueryTests"),
        .testTarget(name: "CollectorTests", dependencies: ["RegistryClient", "Collector", "Report", "Decoders", "Timestamps", "TestSupport"], path: "Tests/CollectorTests",
                    exclude: ["Fixtures"]),  // JSON read by path at test time
        .testTarget(name: "ReportTests", dependencies: ["Report", "Decoders", "Timestamps"], path: "Tests/ReportTests"),
        // The API over real loopback sockets, on temporary SQLite stores; beside it the built capreg binary
        // (capreg ingest takes the same reports as POST /v1/reports).
        .testTarget(name: "APITests", dependencies: ["RegistryClient", "API", "Server", "Store", "StoreSQLite", "Synthetic", "Report", "Decoders", "Query", "Timestamps", "capreg",
                                                   "TestSupport", "TestRegistry"],
                    path: "Tests/APITests"),
        // Dashboard pages on temporary stores, and in headless Chromium against a real capreg serve.
        .testTarget(name: "DashboardTests", dependencies: ["RegistryClient", "Dashboard", "API", "Server", "Store", "StoreSQLite", "Synthetic", "Report", "Decoders", "Query", "capreg",
                                                         "TestSupport", "TestRegistry"],
                    path: "Tests/DashboardTests"),
        .testTarget(name: "ServerTests", dependencies: ["Server", "JSONText", "TestSupport"], path: "Tests/ServerTests"),
        // The PostgreSQL backend on a throwaway cluster (TestSupport.PostgresCluster); skipped without PostgreSQL.
        // (GRDB: the SQLite schema the PostgreSQL one must equal.)
        .testTarget(name: "StorePostgresTests", dependencies: ["StorePostgres", "Store", "Decoders", "TestSupport",
                                                             .product(name: "GRDB", package: "GRDB.swift")],
                    path: "Tests/StorePostgresTests"),
        .testTarget(name: "StoreTests", dependencies: ["Store", "StoreSQLite", "Synthetic", "JSONText", "Report", "Decoders", "TestSupport", "TestRegistry", .product(name: "GRDB", package: "GRDB.swift")],
                    path: "Tests/StoreTests"),
    ]
)
