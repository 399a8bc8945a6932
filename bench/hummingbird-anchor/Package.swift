// swift-tools-version:6.2
// The framework anchor of bench/api/run.sh: capreg's own API handler (the same routes, store query and
// JSON bytes) served by Hummingbird 2 instead of Sources/Server. Bench-only: the product never depends
// on a web framework. Build: swift build -c release --package-path bench/hummingbird-anchor
import PackageDescription

let package = Package(
    name: "capreg-hummingbird-anchor",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(name: "capreg", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "capreg-hummingbird-anchor",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "CapregAPI", package: "capreg"),
            ],
            path: "Sources/capreg-hummingbird-anchor"
        ),
    ]
)
