import Foundation
import Testing
import TestSupport
@testable import StorePostgres

/// The database URL and where the password comes from: no server.
@Suite struct URLTests {
    @Test func aPasswordInTheURLIsRefusedWithoutEchoingIt() throws {
        for url in ["postgres://capreg:hunter2@db.example/capreg", "postgres://capreg:@db.example/capreg",
                    "postgres://capreg@db.example/capreg?password=hunter2"] {
            do {
                _ = try PostgresURL(url)
                Issue.record("\(url) was accepted")
            } catch let error as PostgresURLError {
                #expect(error == .passwordInURL)
                #expect(error.description.contains("password field"))
                #expect(error.description.contains("PGPASSWORD") && error.description.contains("CAPREG_DB_PASSWORD_FILE"))
                #expect(!error.description.contains("hunter2"))
            }
        }
        // Refused before any connection is tried.
        #expect(throws: PostgresURLError.passwordInURL) { try PostgresDatabase(url: "postgres://u:p@127.0.0.1:1/db", environment: [:]) }
    }

    @Test func hostsPortsAndOptions() throws {
        let url = try PostgresURL("postgresql://capreg@pg1.example,pg2.example:5433,[::1]:6000/registry?sslmode=verify-full&connect_timeout=3&pool=4")
        #expect(url.user == "capreg")
        #expect(url.hosts == [.init(name: "pg1.example", port: 5432), .init(name: "pg2.example", port: 5433), .init(name: "::1", port: 6000)])
        #expect(url.database == "registry")
        #expect(url.sslMode == .verifyFull)
        #expect(url.connectTimeoutSeconds == 3)
        #expect(url.poolSize == 4)
        #expect(url.location.hasPrefix("postgresql://capreg@pg1.example"))

        let plain = try PostgresURL("postgres://u@h/d")
        #expect(plain.sslMode == .disable && plain.poolSize == 8 && plain.connectTimeoutSeconds == 10)
    }

    @Test func malformedURLsSayWhy() {
        for (url, words) in [("mysql://u@h/d", "postgres://"), ("postgres://h/d", "no user"), ("postgres://u@h", "no database"),
                             ("postgres://u@h:99999/d", "out of range"), ("postgres://u@h/d?sslmode=prefer", "sslmode=prefer"),
                             ("postgres://u@h/d?pool=0", "pool=0"), ("postgres://u@h/d?colour=red", "unknown option colour"),
                             ("postgres://u@h,/d", "empty host")] {
            do {
                _ = try PostgresURL(url)
                Issue.record("\(url) was accepted")
            } catch {
                #expect(String(describing: error).contains(words), "\(url): \(error)")
            }
        }
    }

    @Test func passwordComesFromAPrivateFileOrPGPASSWORD() throws {
        let dir = try TempDir()
        let path = dir.path("password")
        try "s3cret\nignored\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        #expect(try PostgresPassword.resolve(["CAPREG_DB_PASSWORD_FILE": path, "PGPASSWORD": "other"]) == "s3cret")
        #expect(try PostgresPassword.resolve(["PGPASSWORD": "other"]) == "other")
        #expect(try PostgresPassword.resolve([:]) == nil)

        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: path)
        do {
            _ = try PostgresPassword.resolve(["CAPREG_DB_PASSWORD_FILE": path])
            Issue.record("a group-readable password file was accepted")
        } catch {
            #expect(String(describing: error).contains("may be read by its group or by others"))
            #expect(String(describing: error).contains("chmod 600"))
        }
        #expect(throws: PostgresURLError.self) { try PostgresPassword.resolve(["CAPREG_DB_PASSWORD_FILE": dir.path("absent")]) }
    }

    @Test func testClusterURLsNameTheirDatabase() {
        #expect(PostgresCluster.replacingDatabase(in: "postgres://u@h:1/postgres", with: "x") == "postgres://u@h:1/x")
        #expect(PostgresCluster.replacingDatabase(in: "postgres://u@h:1/postgres?sslmode=require", with: "x") == "postgres://u@h:1/x?sslmode=require")
        #expect(PostgresCluster.replacingDatabase(in: "postgres://u@h:1", with: "x") == "postgres://u@h:1/x")
    }
}
