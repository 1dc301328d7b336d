// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Herald",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Herald", targets: ["Herald"]),
        .library(name: "HeraldSQLite", targets: ["HeraldSQLite"]),
        .library(name: "HeraldPostgres", targets: ["HeraldPostgres"]),
        .library(name: "HeraldTesting", targets: ["HeraldTesting"]),
        .executable(name: "herald-example", targets: ["HeraldExample"]),
        .executable(name: "herald-bench", targets: ["HeraldBenchmarks"]),
        .executable(name: "herald-crash-worker", targets: ["HeraldCrashWorker"]),
        .executable(name: "herald-sim", targets: ["HeraldSim"]),
        .executable(name: "mall", targets: ["MallCLI"]),
        .executable(name: "mall-bench", targets: ["MallBenchmarks"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        // Already built for PostgresNIO; Mall uses its SHA-256 and HMAC.
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        // Already built for Hummingbird: NIOThreadPool for password hashing, and the HTTP
        // part types of the server's request-timeout handler.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        // The payment gateway client (and the fake gateway's callbacks); its NIO, SSL and
        // HTTP/2 dependencies are built for PostgresNIO and Hummingbird already.
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        // `swift package generate-documentation --target Herald` (scripts/test.sh builds the
        // catalog and fails on a warning); a plugin, so nothing of it is linked.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", from: "1.5.0"),
    ],
    targets: [
        // Core: events, envelopes, aggregates, unit of work, subscriptions, retries,
        // dead letters, scheduled messages and the Store protocol. No storage imports.
        .target(
            name: "Herald",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                // Already built for Hummingbird.
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "HeraldSQLite",
            dependencies: ["Herald", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift")]
        ),
        // The scale-out store: PostgreSQL through PostgresNIO's pooled client.
        .target(
            name: "HeraldPostgres",
            dependencies: [
                "Herald",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // The pool's error type, to tell an outage (the pool's circuit breaker) from a bug.
                .product(name: "_ConnectionPoolModule", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Circuit breaker, rate limiter, bulkhead, timeout and fallback: pure Swift on
        // Herald's clock (inject a manual one in tests), nothing of Mall's.
        .target(name: "Resilience", dependencies: ["Herald", .product(name: "Logging", package: "swift-log")]),
        // Recurring jobs: cron schedules (pure), sharded jobs on Herald's leases.
        .target(name: "Scheduling", dependencies: [
            "Herald", "Resilience", .product(name: "Logging", package: "swift-log"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // In-memory store, manual clock and the conformance suite every store must pass.
        .target(name: "HeraldTesting", dependencies: ["Herald", .product(name: "Logging", package: "swift-log")]),
        // What the benchmark executables share: CPU caps (cgroups) for processes standing in for nodes.
        .target(name: "BenchmarkSupport"),
        .executableTarget(
            name: "HeraldExample",
            dependencies: ["Herald", "HeraldSQLite", .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "HeraldBenchmarks",
            dependencies: [
                "Herald", "HeraldSQLite", "HeraldPostgres", "BenchmarkSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        // Deterministic simulation: Herald's runtime on simulated nodes over the in-memory
        // store (HeraldTesting, Herald's own), one executor, one clock, one seed.
        .target(
            name: "HeraldSimulation",
            dependencies: ["Herald", "HeraldTesting", .product(name: "Logging", package: "swift-log")]
        ),
        // Mall's saga as a simulation workload: its own target, so HeraldSimulation stays Herald's.
        .target(
            name: "MallSimulation",
            dependencies: [
                "HeraldSimulation", "Herald", "MallApplication", "MallOperations", "MallKernel", "MallOrdering", "MallOrderingEvents",
                "MallPayment", "MallPaymentEvents", "MallPricingEvents", "MallInventoryEvents",
            ]
        ),
        .executableTarget(
            name: "HeraldSim",
            dependencies: ["HeraldSimulation", "MallSimulation", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Child process driven (and SIGKILLed) by the crash tests.
        .executableTarget(
            name: "HeraldCrashWorker",
            dependencies: [
                "Herald", "HeraldSQLite", "HeraldPostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Mall: one module per bounded context, and one per context's published events.
        // A context imports the shared kernel, its own events and the events of the contexts
        // it listens to, never another context: who hears whom is read off these lines.
        .target(name: "MallKernel", dependencies: ["Herald"]),  // money, rates, stock lines, problems
        .target(name: "MallCatalogEvents", dependencies: ["Herald", "MallKernel"]),
        .target(name: "MallMemberEvents", dependencies: ["Herald", "MallKernel"]),
        .target(name: "MallPricingEvents", dependencies: ["Herald", "MallKernel"]),
        .target(name: "MallInventoryEvents", dependencies: ["Herald", "MallKernel"]),
        .target(name: "MallOrderingEvents", dependencies: ["Herald", "MallKernel"]),
        .target(name: "MallPaymentEvents", dependencies: ["Herald", "MallKernel"]),
        .target(name: "MallCatalog", dependencies: ["Herald", "MallKernel", "MallCatalogEvents"]),
        .target(name: "MallMembers", dependencies: ["Herald", "MallKernel", "MallMemberEvents", .product(name: "Crypto", package: "swift-crypto")]),
        // Pricing hears the Catalog (prices), Members (levels) and Ordering (coupons to redeem or give back).
        .target(name: "MallPricing", dependencies: ["Herald", "MallKernel", "MallPricingEvents", "MallCatalogEvents", "MallMemberEvents", "MallOrderingEvents"]),
        // The cart hears Ordering (emptied at checkout).
        .target(name: "MallCart", dependencies: ["Herald", "MallKernel", "MallOrderingEvents"]),
        // Ordering hears Inventory (stock held or not), Pricing (coupon redeemed or not) and Payment.
        .target(name: "MallOrdering", dependencies: [
            "Herald", "MallKernel", "MallOrderingEvents", "MallInventoryEvents", "MallPricingEvents", "MallPaymentEvents",
        ]),
        // Inventory hears Ordering (reserve, release, commit).
        .target(name: "MallInventory", dependencies: ["Herald", "MallKernel", "MallInventoryEvents", "MallOrderingEvents"]),
        // Payment hears Ordering (refund what was rejected).
        .target(name: "MallPayment", dependencies: [
            "Herald", "MallKernel", "MallPaymentEvents", "MallOrderingEvents", .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // The payment gateway over HTTP: the client Mall calls (timeout, breaker, bulkhead)
        // and the fake gateway `mall gateway serve` runs (or `mall serve` in process).
        .target(
            name: "MallGateway",
            dependencies: [
                "Herald", "MallKernel", "MallPayment", "Resilience",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                // Its connection errors: a call that never left is not in doubt.
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The use cases (commands and queries) HTTP and the CLI call: the only way into the
        // contexts. The engine and the services are `@_spi(Operations)`.
        .target(
            name: "MallApplication",
            dependencies: [
                "Herald", "MallKernel", "MallCatalogEvents", "MallMemberEvents", "MallPricingEvents", "MallInventoryEvents", "MallOrderingEvents", "MallPaymentEvents", "MallCatalog", "MallMembers", "MallPricing", "MallCart",
                "MallOrdering", "MallInventory", "MallPayment", "MallGateway", "Resilience", "Scheduling",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Running the shop: recurring jobs, reconciliation and repair, dead letters and
        // projections for the operator. Reaches the engine and the contexts' services through
        // the application's `@_spi(Operations)` surface.
        .target(
            name: "MallOperations",
            dependencies: [
                "Herald", "MallApplication", "MallKernel", "MallCatalog", "MallMembers", "MallPricing", "MallCart", "MallOrdering",
                "MallInventory", "MallPayment", "MallGateway", "Scheduling", "Resilience",
                "MallOrderingEvents", "MallPricingEvents", "MallPaymentEvents", "MallInventoryEvents",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Composition: opens the store (a SQLite file, or PostgreSQL and its pooled client),
        // builds the engine and the shop on it, and runs `mall serve`: the HTTP server and
        // every service beside it in one ServiceGroup.
        .target(
            name: "MallComposition",
            dependencies: [
                "Herald", "HeraldSQLite", "HeraldPostgres", "MallApplication", "MallOperations", "MallHTTP", "MallKernel", "MallGateway",
                "MallPayment",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The HTTP API (Hummingbird 2): routes, problem+json, auth, OpenAPI document.
        .target(
            name: "MallHTTP",
            dependencies: [
                // No context module: the contexts are reached through the application (docs/ARCHITECTURE.md).
                "MallApplication", "MallOperations", "MallKernel",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            // The API's contract, spec-first: served as is at /openapi.yaml.
            resources: [.copy("Resources/openapi.yaml")]
        ),
        // `mall`: serve, demo, reconcile, dead-letters.
        .executableTarget(
            name: "MallCLI",
            dependencies: [
                "Herald", "HeraldSQLite", "MallApplication", "MallComposition", "MallOperations", "MallHTTP", "MallKernel", "MallOrderingEvents", "MallPricingEvents", "MallOrdering", "MallPayment", "MallGateway", "Scheduling",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // `mall-bench`: orders/s end to end and POST /orders latency against a real server.
        .executableTarget(
            name: "MallBenchmarks",
            dependencies: [
                "BenchmarkSupport", "Herald", "HeraldSQLite", "HeraldPostgres", "MallApplication", "MallComposition", "MallOperations", "MallCatalog", "MallKernel", "MallOrderingEvents", "MallOrdering",
                "Resilience", "Scheduling",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "MallApplicationTests",
            dependencies: [
                "MallApplication", "MallComposition", "MallOperations", "Herald", "HeraldSQLite", "HeraldTesting", "MallKernel", "MallOrderingEvents", "MallPaymentEvents", "MallPricingEvents", "MallCatalog", "MallMembers", "MallPricing",
                "MallCart", "MallOrdering", "MallInventory", "MallPayment", "MallGateway",
            ]
        ),
        .testTarget(name: "HeraldSimulationTests", dependencies: ["HeraldSimulation", "TestSupport"]),
        .testTarget(name: "MallPricingTests", dependencies: ["MallPricing", "MallKernel", "MallMemberEvents", "MallPricingEvents"]),
        .testTarget(name: "MallOrderingTests", dependencies: ["MallOrdering", "MallKernel", "MallOrderingEvents", "MallPricingEvents", "Herald", "HeraldTesting"]),
        .testTarget(
            name: "MallHTTPTests",
            dependencies: [
                "MallPayment", "MallGateway", "MallHTTP", "MallApplication", "MallComposition", "MallOperations", "Herald", "HeraldTesting", "HeraldSQLite", "MallKernel", "MallOrderingEvents", "TestSupport", "Resilience",
                "MallCatalog",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "ResilienceTests", dependencies: ["Resilience", "Herald", "HeraldTesting", "TestSupport"]),
        .testTarget(name: "SchedulingTests", dependencies: ["Scheduling", "Herald", "HeraldTesting"]),
        .testTarget(
            name: "HeraldTests",
            dependencies: [
                "Herald", "HeraldTesting", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
            ]
        ),
        // The allowed imports of docs/ARCHITECTURE.md, checked against Sources/.
        .testTarget(name: "ArchitectureTests"),
        // Helpers the test targets share (a throwaway PostgreSQL server's control).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(
            name: "HeraldPostgresTests",
            dependencies: [
                "Herald", "HeraldPostgres", "HeraldTesting", "TestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // A SQLite VFS that loses what was not synced when the test cuts the power.
        .target(name: "PowerLossVFS", path: "Tests/PowerLossVFS", linkerSettings: [.linkedLibrary("sqlite3")]),
        .testTarget(
            name: "HeraldSQLiteTests",
            dependencies: [
                "Herald", "HeraldSQLite", "HeraldTesting", "TestSupport", "PowerLossVFS",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
