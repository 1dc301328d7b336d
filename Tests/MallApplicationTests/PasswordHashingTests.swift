import Foundation
import Herald
import HeraldSQLite
@_spi(Operations) import MallApplication
import MallOperations
import MallMembers
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
import MallKernel
#endif

/// Password hashing cannot stall the server or tell who is a member.
@Suite struct PasswordHashingTests {
    @Test func theHashingPoolRunsOffTheCooperativePoolAndRefusesWorkBeyondItsQueue() async throws {
        let pool = BoundedThreadPool(name: "password hashing", threads: 1, queueLimit: 2)
        let gate = DispatchSemaphore(value: 0)
        let threadNames = ThreadNames()
        let blocked = (0..<3).map { _ in
            Task {
                try await pool.run {
                    threadNames.record()
                    gate.wait()  // a long bcrypt, held until the test says so
                }
            }
        }
        while pool.load < 3 { try await Task.sleep(for: .milliseconds(1)) }
        await #expect(throws: Overloaded(resource: "password hashing"), "one running and two waiting: the fourth is refused at once") {
            try await pool.run {}
        }
        for _ in 0..<3 { gate.signal() }
        for task in blocked { try await task.value }
        #expect(pool.load == 0)
        try await pool.run {}
        #expect(threadNames.all.allSatisfy { $0.hasPrefix("TP-") }, "NIOThreadPool's own threads: \(threadNames.all)")
    }

    @Test func hashingThreadsRunAtTheConfiguredLowerPriorityAndNoOtherThreadDoes() async throws {
        let idle = BoundedThreadPool(name: "password hashing", threads: 2, queueLimit: 4, priority: .idle)
        for _ in 0..<4 { #expect(try await idle.run { BoundedThreadPool.currentThreadIsIdlePriority }) }
        #expect(!BoundedThreadPool.currentThreadIsIdlePriority, "the caller's thread keeps its policy")
        let nice = BoundedThreadPool(name: "password hashing", threads: 1, queueLimit: 4, priority: .nice(10))
        #expect(try await nice.run { getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) } == 10)
        #expect(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) == 0, "and its nice value")
    }

    @Test func registeringATakenAddressCostsNoHashAndAnUnknownAddressCostsOneAtLogIn() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("members-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let hasher = CountingHasher()
        let members = MemberService(engine: HeraldEngine(store: try SQLiteEventStore(path: path), registry: .mall), hasher: hasher)

        _ = try await members.register(email: "ada@example.com", password: "correct horse", name: "Ada")
        #expect(hasher.hashes == 1)
        await #expect(throws: MemberProblem.emailTaken) {
            try await members.register(email: "ADA@example.com", password: "another password", name: "Not Ada")
        }
        #expect(hasher.hashes == 1, "the address is checked before the password is hashed")

        await #expect(throws: MemberProblem.wrongCredentials) { try await members.logIn(email: "nobody@example.com", password: "guess") }
        #expect(hasher.verifiedAgainst == [hasher.decoyHash], "an unknown address is checked against the decoy, as a known one would be")
    }

    @Test func theDecoyHashHasTheConfiguredCost() {
        let pool = BoundedThreadPool(name: "password hashing", threads: 1, queueLimit: 1)
        #expect(BcryptPasswordHasher(cost: 5, pool: pool).decoyHash.hasPrefix("$2b$05$"))
        #expect(BcryptPasswordHasher(cost: 7, pool: pool).decoyHash.hasPrefix("$2b$07$"))
    }
}

/// Records what it was asked to do; hashes nothing.
final class CountingHasher: PasswordHasher {
    private let state = Mutex<(hashes: Int, verified: [String])>((0, []))
    let decoyHash = "decoy"

    var hashes: Int { state.withLock { $0.hashes } }
    var verifiedAgainst: [String] { state.withLock { $0.verified } }

    func hash(_ password: String) async throws -> String {
        state.withLock { $0.hashes += 1 }
        return "hash:" + password
    }

    func verify(_ password: String, against hash: String) async throws -> Bool {
        state.withLock { $0.verified.append(hash) }
        return hash == "hash:" + password
    }
}

/// The names of the threads that ran something.
final class ThreadNames: Sendable {
    private let names = Mutex<[String]>([])
    func record() { names.withLock { $0.append(Thread.current.name ?? "") } }
    var all: [String] { names.withLock { $0 } }
}
