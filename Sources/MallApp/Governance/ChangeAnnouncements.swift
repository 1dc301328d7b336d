import Herald

extension HeraldEngine {
    /// Wakes every node following `topic` after a committed change. Should the store not
    /// pass the announcement on, the change is still made: the followers' polling finds it
    /// (logged as a warning).
    func announceChange(_ topic: String) async {
        do {
            try await announce(topic)
        } catch {
            logger.warning("could not announce a change; other nodes follow it at their next poll", metadata: ["topic": "\(topic)", "error": "\(error)"])
        }
    }
}
