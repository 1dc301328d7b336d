import Foundation
import Scheduling

/// `POST /admin/jobs/{name}/trigger|pause|resume`.
struct JobActionRequest: Decodable {
    var by: String
}

struct JobStatusBody: Encodable {
    struct Item: Encodable {
        var item: Int
        var parameter: String
        var owner: String?
        var runningSince: Date?
    }

    var name: String
    var schedule: String
    var paused: Bool
    var nextFire: Date?
    var lastRun: JobRunBody?
    var items: [Item]

    init(_ status: JobStatus) {
        name = status.name
        schedule = status.schedule
        paused = status.paused
        nextFire = status.nextFire
        lastRun = status.lastRun.map(JobRunBody.init)
        items = status.items.map { Item(item: $0.item, parameter: $0.parameter, owner: $0.owner, runningSince: $0.runningSince) }
    }
}

struct JobRunBody: Encodable {
    var job: String
    var item: Int
    var fireTime: Date
    var trigger: String
    var node: String
    var startedAt: Date
    var endedAt: Date
    var outcome: String
    var error: String?

    init(_ run: JobRunRecord) {
        job = run.job
        item = run.item
        fireTime = run.fireTime
        trigger = run.trigger.rawValue
        node = run.node
        startedAt = run.startedAt
        endedAt = run.endedAt
        outcome = run.outcome.rawValue
        error = run.error
    }
}
