import ArgumentParser
import Foundation
import Glibc
import Store

/// The writer the CLI records with the reports it stores (migrations/0010): `cli:COMMAND:USER`, the user
/// being the effective one (who the database write happens as), no peer address.
enum CLIWriter {
    static func of(_ command: String) throws -> Writer {
        let uid = geteuid()
        var name = ""
        if let entry = getpwuid(uid), let pwName = entry.pointee.pw_name { name = String(cString: pwName) }
        do {
            return try Writer.cli(command, user: name, uid: uid)
        } catch {
            throw ValidationError("cannot name the writer of these reports: \(error)")
        }
    }
}
