import Foundation
import Synchronization

/// A cap on the CPU a group of processes may use: a Linux cgroup of its own, so that
/// processes on one machine stand in for nodes on machines of their own. Capped at a
/// quarter of a core each, three consumer processes have three quarters of a core between
/// them whatever else runs: adding a node adds its cap's worth, or shows that it does not.
///
/// cgroup v1's `cpu` controller (`cpu.cfs_quota_us` over `cpu.cfs_period_us`) where it is
/// mounted at `/sys/fs/cgroup/cpu`, else v2's `cpu.max` at `/sys/fs/cgroup` (or
/// `/sys/fs/cgroup/unified`). Needs root. Nothing here falls back to running uncapped: a cap
/// that cannot be made throws ``Unavailable`` naming why.
///
/// Groups are named `<prefix>-<pid>-<n>` after the process that made them, and removed by
/// ``remove()`` (their processes are killed first). A run that crashes leaves none for long:
/// the first cap a process makes starts a watchdog (`/bin/sh`, outside every group) that
/// kills what is left in its groups and removes them once that process has gone, and every
/// new run removes the groups of runs whose process is gone.
///
/// ```swift
/// let cap = try CPUCap.make(prefix: "herald-bench", cores: 0.25)
/// try cap.add(process.processIdentifier)
/// defer { cap.remove() }
/// ```
public final class CPUCap: Sendable {
    /// Why a cap could not be made (not root, no cgroup file system, a write refused).
    public struct Unavailable: Error, CustomStringConvertible {
        public var description: String
    }

    /// The cgroup file system in use.
    enum Hierarchy: Sendable {
        /// v1: `<root>/cpu.cfs_quota_us` and `cpu.cfs_period_us`.
        case v1(root: String)
        /// v2: `<root>/cpu.max` (the `cpu` controller enabled in the root's subtree).
        case v2(root: String)

        var root: String {
            switch self {
            case .v1(let root), .v2(let root): root
            }
        }

        static func find() throws -> Hierarchy {
            let files = FileManager.default
            if files.fileExists(atPath: "/sys/fs/cgroup/cpu/cpu.cfs_quota_us") { return .v1(root: "/sys/fs/cgroup/cpu") }
            for root in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] where files.fileExists(atPath: root + "/cgroup.subtree_control") {
                let controllers = (try? String(contentsOfFile: root + "/cgroup.controllers", encoding: .utf8)) ?? ""
                if controllers.split(separator: " ").contains(where: { $0.trimmingCharacters(in: .whitespacesAndNewlines) == "cpu" }) {
                    return .v2(root: root)
                }
            }
            throw Unavailable(description: "no cgroup cpu controller found (looked for /sys/fs/cgroup/cpu and cgroup v2 with cpu)")
        }
    }

    /// The group's directory.
    public let path: String
    /// The share of one core its processes may use together.
    public let cores: Double
    private let hierarchy: Hierarchy

    /// Groups this process has made, and whether its watchdog runs.
    private static let made = Mutex<(count: Int, watching: Bool)>((0, false))

    /// Makes a group capped at `cores` (0.01 ... 64) of a core.
    ///
    /// - Throws: ``Unavailable`` saying why it could not.
    public static func make(prefix: String, cores: Double) throws -> CPUCap {
        guard cores >= 0.01, cores <= 64 else { throw Unavailable(description: "a cap of \(cores) cores: give 0.01 ... 64") }
        guard geteuid() == 0 else { throw Unavailable(description: "CPU caps need root (cgroups); run as root") }
        let hierarchy = try Hierarchy.find()
        let (number, firstOfRun) = made.withLock { made -> (Int, Bool) in
            made.count += 1
            defer { made.watching = true }
            return (made.count, !made.watching)
        }
        if firstOfRun {
            removeAbandoned(prefix: prefix, hierarchy: hierarchy)
            try watch(prefix: prefix, hierarchy: hierarchy)
        }
        let path = "\(hierarchy.root)/\(prefix)-\(getpid())-\(number)"
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw Unavailable(description: "cannot make the cgroup \(path): \(String(cString: strerror(errno)))")
        }
        let cap = CPUCap(path: path, cores: cores, hierarchy: hierarchy)
        do {
            let period = 100_000
            switch hierarchy {
            case .v1:
                try cap.write("\(period)", to: "cpu.cfs_period_us")
                try cap.write("\(Int((cores * Double(period)).rounded()))", to: "cpu.cfs_quota_us")
            case .v2:
                try cap.write("\(Int((cores * Double(period)).rounded())) \(period)", to: "cpu.max")
            }
        } catch {
            cap.remove()
            throw error
        }
        return cap
    }

    private init(path: String, cores: Double, hierarchy: Hierarchy) {
        self.path = path
        self.cores = cores
        self.hierarchy = hierarchy
    }

    /// Moves process `pid` (and the threads it starts from then on) into the group.
    public func add(_ pid: pid_t) throws { try write("\(pid)", to: "cgroup.procs") }

    /// The processes in the group now.
    public var processes: [pid_t] {
        ((try? String(contentsOfFile: path + "/cgroup.procs", encoding: .utf8)) ?? "").split(separator: "\n").compactMap { pid_t($0) }
    }

    /// Kills the group's processes and removes the group (a no-op once removed).
    public func remove() { Self.remove(path) }

    private func write(_ value: String, to file: String) throws {
        do {
            try value.write(toFile: path + "/" + file, atomically: false, encoding: .utf8)
        } catch {
            throw Unavailable(description: "cannot write \(value) to \(path)/\(file): \(error.localizedDescription)")
        }
    }

    /// Kills what is in the group at `path`, waits for it to empty, and removes it.
    static func remove(_ path: String) {
        guard FileManager.default.fileExists(atPath: path) else { return }
        for _ in 0..<100 {
            let left = ((try? String(contentsOfFile: path + "/cgroup.procs", encoding: .utf8)) ?? "").split(separator: "\n").compactMap { pid_t($0) }
            for pid in left { kill(pid, SIGKILL) }
            if rmdir(path) == 0 || errno == ENOENT { return }
            usleep(50_000)
        }
    }

    /// Removes the groups of earlier runs whose process is gone (a run that crashed before
    /// its watchdog could).
    static func removeAbandoned(prefix: String, hierarchy: Hierarchy) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: hierarchy.root)) ?? []
        for name in names where name.hasPrefix(prefix + "-") {
            let parts = name.dropFirst(prefix.count + 1).split(separator: "-")
            guard parts.count == 2, let owner = pid_t(parts[0]), kill(owner, 0) != 0, errno == ESRCH else { continue }
            remove(hierarchy.root + "/" + name)
        }
    }

    /// Starts a watchdog that, once this process has gone, kills what is left in its groups
    /// and removes them. It is a child of ours in the root group (no cap), and it outlives a
    /// SIGKILL of ours.
    private static func watch(prefix: String, hierarchy: Hierarchy) throws {
        let pattern = "\(hierarchy.root)/\(prefix)-\(getpid())-*"
        let script = """
            while kill -0 \(getpid()) 2>/dev/null; do sleep 1; done
            for group in \(pattern); do
              [ -d "$group" ] || continue
              for attempt in 1 2 3 4 5 6 7 8 9 10; do
                for pid in $(cat "$group/cgroup.procs" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
                rmdir "$group" 2>/dev/null && break
                sleep 0.2
              done
            done
            """
        let watchdog = Process()
        watchdog.executableURL = URL(fileURLWithPath: "/bin/sh")
        watchdog.arguments = ["-c", script]
        watchdog.standardOutput = FileHandle.nullDevice
        watchdog.standardError = FileHandle.nullDevice
        do {
            try watchdog.run()
        } catch {
            throw Unavailable(description: "cannot start the cgroup watchdog: \(error)")
        }
    }
}

/// CPU time a process has used so far (user and system), from `/proc/PID/stat`; `nil` once
/// it is gone.
public func cpuTime(of pid: pid_t) -> Duration? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let end = stat.lastIndex(of: ")") else { return nil }
    // Fields after the command's name: utime is the 12th, stime the 13th (clock ticks).
    let fields = stat[stat.index(after: end)...].split(separator: " ")
    guard fields.count > 13, let user = Int64(fields[11]), let system = Int64(fields[12]) else { return nil }
    let ticks = Int64(sysconf(Int32(_SC_CLK_TCK)))
    return .milliseconds((user + system) * 1000 / ticks)
}
