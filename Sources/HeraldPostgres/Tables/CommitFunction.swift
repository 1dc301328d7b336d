import Foundation
import Herald
import Logging
import PostgresNIO

/// `herald_commit(…)`: the one place that writes aggregates and appends events, with the
/// delivered and cancelled messages, in one statement, so one round trip.
///
/// PostgresNIO has no multi-statement query, so a transaction costs a round trip per
/// statement. A unit of work's changeset (aggregates, events, cancellations), or a
/// scheduler's (deliveries and their events), is this one
/// autocommit statement, which PostgreSQL runs as one transaction. Other changesets run it
/// as the first statement of a transaction and add their scheduled messages, deliveries and
/// subscription progress after it.
///
/// Deliveries are checked before any event is appended: of two schedulers delivering one
/// message, the second fails on the missing message (SQLSTATE `HR410`, mapped to
/// ``StoreError/scheduledMessageGone(key:)``), not on the event id the first one stored.
///
/// It first takes a transaction-scoped advisory lock on every stream it appends to, in one
/// order for everyone (so two commits cannot deadlock on them). A lock gives no transaction
/// id; the first write does, after the locks are held. Two transactions appending to one
/// stream therefore get their ids in the order they append, and the delivery order
/// `(tx_id, position)` keeps every stream's order (see ``PostgresEventStore``).
///
/// A version mismatch raises SQLSTATE `HR409` with the aggregate's index and the version
/// found; the caller turns it into ``ConcurrencyConflict``.
enum CommitFunction {
    static let conflictState = "HR409"
    static let goneState = "HR410"

    /// Namespace of the per-stream advisory locks (the first key of the two-key form).
    static let streamLockNamespace: Int32 = 0x4845_524C  // "HERL"

    /// Whether the function alone commits the changeset (nothing else to write with it).
    static func suffices(for changeset: Changeset) -> Bool {
        changeset.subscription == nil && changeset.scheduled.isEmpty && changeset.projectionWrites.isEmpty && changeset.projectionFence == nil
    }

    /// Whether the changeset has anything for the function to write.
    static func hasWork(in changeset: Changeset) -> Bool {
        !changeset.aggregates.isEmpty || !changeset.events.isEmpty || !changeset.cancelledSchedules.isEmpty
            || !changeset.deliveredSchedules.isEmpty
    }

    /// `CREATE OR REPLACE` of the function; run by every migration, so it follows the code.
    static func definition(_ n: PostgresNames) -> String {
        """
        CREATE OR REPLACE FUNCTION \(n.schema).herald_commit(
            lock_keys text[],
            agg_types text[], agg_ids text[], agg_expected bigint[], agg_states bytea[],
            recorded timestamptz,
            deliver_keys text[], cancel_keys text[],
            ev_ids uuid[], ev_stream_types text[], ev_stream_ids text[], ev_types text[], ev_schema_versions bigint[],
            ev_payloads bytea[], ev_occurred timestamptz[], ev_causation text[], ev_correlation text[],
            ev_traceparent text[], ev_metadata text[], ev_hashes bigint[]
        ) RETURNS TABLE (event_position bigint, event_version bigint)
        LANGUAGE plpgsql AS $fn$
        DECLARE
            i integer;
            found_version bigint;
            wake text;
        BEGIN
            PERFORM count(*) FROM (
                SELECT pg_advisory_xact_lock(\(streamLockNamespace), lock_key)
                FROM (SELECT DISTINCT hashtext(name) AS lock_key FROM unnest(lock_keys) AS name) AS keys
                ORDER BY lock_key
            ) AS locked;
            FOR i IN 1 .. coalesce(array_length(agg_types, 1), 0) LOOP
                IF agg_expected[i] = 0 THEN
                    INSERT INTO \(n.aggregates) AS a (stream_type, stream_id, version, state, updated_at)
                    VALUES (agg_types[i], agg_ids[i], 1, agg_states[i], recorded)
                    ON CONFLICT (stream_type, stream_id) DO NOTHING;
                ELSE
                    UPDATE \(n.aggregates) AS a SET version = a.version + 1, state = agg_states[i], updated_at = recorded
                    WHERE a.stream_type = agg_types[i] AND a.stream_id = agg_ids[i] AND a.version = agg_expected[i];
                END IF;
                IF NOT FOUND THEN
                    SELECT a.version INTO found_version FROM \(n.aggregates) AS a
                    WHERE a.stream_type = agg_types[i] AND a.stream_id = agg_ids[i];
                    RAISE EXCEPTION 'herald: concurrency conflict' USING ERRCODE = '\(conflictState)',
                        DETAIL = i::text || ' ' || coalesce(found_version::text, 'none');
                END IF;
            END LOOP;
            FOR i IN 1 .. coalesce(array_length(deliver_keys, 1), 0) LOOP
                DELETE FROM \(n.scheduled) AS s WHERE s.key = deliver_keys[i];
                IF NOT FOUND THEN
                    RAISE EXCEPTION 'herald: scheduled message gone' USING ERRCODE = '\(goneState)', DETAIL = deliver_keys[i];
                END IF;
            END LOOP;
            DELETE FROM \(n.scheduled) AS s WHERE s.key = ANY(cancel_keys);
            FOR i IN 1 .. coalesce(array_length(ev_ids, 1), 0) LOOP
                RETURN QUERY INSERT INTO \(n.events) AS e (event_id, stream_type, stream_id, stream_version, event_type,
                    schema_version, payload, occurred_at, recorded_at, causation_id, correlation_id, traceparent, metadata,
                    stream_hash)
                VALUES (ev_ids[i], ev_stream_types[i], ev_stream_ids[i],
                    (SELECT coalesce(max(x.stream_version), 0) + 1 FROM \(n.events) AS x
                     WHERE x.stream_type = ev_stream_types[i] AND x.stream_id = ev_stream_ids[i]),
                    ev_types[i], ev_schema_versions[i]::integer, ev_payloads[i], ev_occurred[i], recorded,
                    nullif(ev_causation[i], '')::uuid, nullif(ev_correlation[i], '')::uuid, nullif(ev_traceparent[i], ''),
                    nullif(ev_metadata[i], '')::jsonb, ev_hashes[i])
                RETURNING e.position, e.stream_version;
            END LOOP;
            IF coalesce(array_length(ev_ids, 1), 0) > 0 THEN
                -- What was appended, so that only the workers it concerns wake (see
                -- CommitTouch); too long for a notification, and every worker wakes.
                wake := '|' || array_to_string(ARRAY(SELECT DISTINCT unnest(ev_types)), ',')
                    || '|' || array_to_string(ARRAY(SELECT DISTINCT unnest(ev_hashes)), ',');
                PERFORM pg_notify('\(n.channel)', CASE WHEN length(wake) > 7000 THEN '' ELSE wake END);
            END IF;
        END
        $fn$
        """
    }

    /// Writes the aggregates, cancellations and events of `changeset` with one statement:
    /// committed at once in autocommit mode, or as part of the caller's transaction, of
    /// which it must then be the first statement.
    ///
    /// - Throws: ``ConcurrencyConflict``, ``StoreError/duplicateEventID(_:)``.
    static func commit(_ changeset: Changeset, _ names: PostgresNames, _ connection: PostgresConnection, _ logger: Logger) async throws -> [EventEnvelope] {
        let aggregates = changeset.aggregates, events = changeset.events
        let locks = Set(events.map(\.stream)).map { "\($0.type)\u{1F}\($0.id)" }
        let metadata = try events.map { try StoredMetadata.encode($0.metadata) ?? "" }
        let query: PostgresQuery = """
            SELECT event_position, event_version FROM \(unescaped: names.schema).herald_commit(
                \(locks), \(aggregates.map(\.stream.type)), \(aggregates.map(\.stream.id)), \(aggregates.map(\.expectedVersion)),
                \(aggregates.map { ByteBuffer(bytes: $0.state) }), \(changeset.recordedAt), \(changeset.deliveredSchedules),
                \(changeset.cancelledSchedules),
                \(events.map(\.eventID)), \(events.map(\.stream.type)), \(events.map(\.stream.id)), \(events.map(\.eventType)),
                \(events.map { Int64($0.schemaVersion) }), \(events.map { ByteBuffer(bytes: $0.payload) }), \(events.map(\.occurredAt)),
                \(events.map { $0.causationID?.uuidString ?? "" }), \(events.map { $0.correlationID?.uuidString ?? "" }),
                \(events.map { $0.traceparent ?? "" }), \(metadata), \(events.map { Partitioning.streamHash($0.stream) }))
            """
        var recorded: [EventEnvelope] = []
        recorded.reserveCapacity(events.count)
        do {
            let rows = try await connection.query(query, logger: logger)
            for try await (position, version) in rows.decode((Int64, Int64).self) {
                recorded.append(events[recorded.count].recorded(streamVersion: version, position: position, at: changeset.recordedAt))
            }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == conflictState {
            let detail = (error.serverInfo?[.detail] ?? "").split(separator: " ")
            guard detail.count == 2, let index = Int(detail[0]), aggregates.indices.contains(index - 1) else { throw error }
            let write = aggregates[index - 1]
            throw ConcurrencyConflict(stream: write.stream, expectedVersion: write.expectedVersion, actualVersion: Int64(detail[1]))
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == goneState {
            throw StoreError.scheduledMessageGone(key: error.serverInfo?[.detail] ?? "")
        } catch let error as PSQLError where error.isUniqueViolation(on: "event_id") {
            // The detail reads "Key (event_id)=(<uuid>) already exists."
            let detail = error.serverInfo?[.detail] ?? ""
            let id = detail.range(of: "=(").flatMap { start in
                detail[start.upperBound...].split(separator: ")").first.flatMap { UUID(uuidString: String($0)) }
            }
            throw StoreError.duplicateEventID(id ?? events[0].eventID)
        }
        return recorded
    }
}
