using System.Data.Common;
using Forkline.Contracts.History;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.Queries;
using Forkline.Gateway.Storage;

namespace Forkline.Gateway.History;

/// <summary>One journal entry of a host as the projection sees it.</summary>
public sealed record JournalBatch(string Host, long SequenceNr, IReadOnlyList<EnrichedEvent> Events, IReadOnlyList<HostGap>? Gaps = null);

/// <summary>A process found below another one: 1 = child, 2 = grandchild, ...</summary>
public sealed record HistoryDescendant(ProcessRecord Process, int Depth);

/// <summary>
/// The queryable history: the <c>processes</c> table (one row per process image, upserted by exec_id),
/// the per-host index of journal entries by time (so a replay reads only the entries of its window),
/// and the projection offsets. Portable SQL through ADO.NET: the same statements run on SQLite and
/// PostgreSQL. Times are BIGINT: UTC ticks (100 ns) since the Unix epoch.
/// </summary>
public sealed class HistoryStore(DatabaseSettings database)
{
    /// <summary>Bounds the ancestor walk, so a corrupt parent cycle cannot loop.</summary>
    public const int MaxAncestors = 4096;

    /// <summary>The PostgreSQL advisory lock that serialises schema creation ("FKLNSCHM").</summary>
    private const long SchemaLockKey = 0x464B_4C4E_5343_484D;

    private const string Columns =
        "p.exec_id, p.host, p.pid, p.parent_exec_id, p.binary_path, p.args, p.cwd, p.uid, p.start_time, p.exit_time, p.exit_code, p.signal, p.container_id, p.pod_uid, p.pod_namespace, p.pod_name, p.end_kind, p.ended_after, " +
        "p.pod_labels, p.pod_workload, p.pod_workload_kind, p.pod_container_id, p.pod_container_name, p.pod_container_image, p.pod_container_image_id, " +
        "p.pod_container_started_at, p.pod_container_privileged, p.maybe_exec_probe, p.pod_annotations, p.namespace_pid, p.uid_unknown";

    /// <summary>How many <see cref="Columns"/> names: the index of a column a query selects after them.</summary>
    private const int ColumnCount = 31;

    private static readonly string[] Schema =
    [
        """
        CREATE TABLE IF NOT EXISTS processes (
            exec_id TEXT NOT NULL PRIMARY KEY,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            parent_exec_id TEXT NULL,
            binary_path TEXT NOT NULL,
            args TEXT NOT NULL,
            cwd TEXT NOT NULL,
            uid BIGINT NOT NULL,
            start_time BIGINT NOT NULL,
            exit_time BIGINT NULL,
            exit_code INTEGER NULL,
            signal INTEGER NULL,
            container_id TEXT NULL,
            pod_uid TEXT NULL,
            pod_namespace TEXT NULL,
            pod_name TEXT NULL,
            end_kind INTEGER NULL,
            ended_after BIGINT NULL,
            pod_labels TEXT NULL,
            pod_workload TEXT NULL,
            pod_workload_kind TEXT NULL,
            pod_container_id TEXT NULL,
            pod_container_name TEXT NULL,
            pod_container_image TEXT NULL,
            pod_container_image_id TEXT NULL,
            pod_container_started_at BIGINT NULL,
            pod_container_privileged INTEGER NULL,
            maybe_exec_probe INTEGER NULL,
            pod_annotations TEXT NULL,
            namespace_pid INTEGER NULL,
            uid_unknown INTEGER NULL)
        """,
        "CREATE INDEX IF NOT EXISTS ix_processes_parent ON processes (parent_exec_id)",
        "CREATE INDEX IF NOT EXISTS ix_processes_host_start ON processes (host, start_time)",
        // start_time in the pid index: the projection's "newer image replaces older" UPDATE filters on
        // host, pid and start_time, and with (host, pid) alone SQLite's planner scanned the whole host
        // through (host, start_time) instead, for every exec.
        "CREATE INDEX IF NOT EXISTS ix_processes_host_pid_start ON processes (host, pid, start_time)",
        "DROP INDEX IF EXISTS ix_processes_host_pid",
        """
        CREATE TABLE IF NOT EXISTS host_journal_index (
            host TEXT NOT NULL,
            sequence_nr BIGINT NOT NULL,
            first_time BIGINT NOT NULL,
            last_time BIGINT NOT NULL,
            PRIMARY KEY (host, sequence_nr))
        """,
        """
        CREATE TABLE IF NOT EXISTS host_gaps (
            host TEXT NOT NULL,
            sequence_nr BIGINT NOT NULL,
            ordinal INTEGER NOT NULL,
            from_time BIGINT NOT NULL,
            to_time BIGINT NOT NULL,
            reason INTEGER NOT NULL,
            run_id TEXT NOT NULL,
            next_run_id TEXT NOT NULL,
            lost_records BIGINT NOT NULL,
            PRIMARY KEY (host, sequence_nr, ordinal))
        """,
        "CREATE INDEX IF NOT EXISTS ix_host_gaps_host_to ON host_gaps (host, to_time)",
        """
        CREATE TABLE IF NOT EXISTS projection_offsets (
            projection_name TEXT NOT NULL PRIMARY KEY,
            position BIGINT NOT NULL)
        """,
    ];

    /// <summary>
    /// Columns added to <c>processes</c> after its first release: a database created before them gets
    /// them (empty for the rows it already holds) when the schema is ensured.
    /// </summary>
    private static readonly (string Name, string Type)[] AddedProcessColumns =
    [
        ("container_id", "TEXT NULL"),
        ("pod_uid", "TEXT NULL"),
        ("pod_namespace", "TEXT NULL"),
        ("pod_name", "TEXT NULL"),
        // How an image ended (ProcessEndKind) and, for a concluded end, the moment it ended after.
        ("end_kind", "INTEGER NULL"),
        ("ended_after", "BIGINT NULL"),
        // The rest of what the API server told of the pod and its container (PodColumns).
        ("pod_labels", "TEXT NULL"),
        ("pod_workload", "TEXT NULL"),
        ("pod_workload_kind", "TEXT NULL"),
        ("pod_container_id", "TEXT NULL"),
        ("pod_container_name", "TEXT NULL"),
        ("pod_container_image", "TEXT NULL"),
        ("pod_container_image_id", "TEXT NULL"),
        // When the container started running, its securityContext.privileged (0/1), and whether the
        // process may be one of its exec probes (Tetragon's maybe_exec_probe, decided at exec: 0/1).
        ("pod_container_started_at", "BIGINT NULL"),
        ("pod_container_privileged", "INTEGER NULL"),
        ("maybe_exec_probe", "INTEGER NULL"),
        // The pod's annotations, as pod_labels (empty object: not read, Collector:PodAnnotations off, or none).
        ("pod_annotations", "TEXT NULL"),
        // The process's pid in its own pid namespace (Tetragon's pod.container.pid); NULL: not known.
        ("namespace_pid", "INTEGER NULL"),
        // 1: the uid was never seen (a process that never became known, stored from its exit); the uid column then holds 0.
        ("uid_unknown", "INTEGER NULL"),
    ];

    public DatabaseSettings Database { get; } = database;

    /// <summary>
    /// Creates the tables and indexes that are missing, in one transaction. Gateways starting at once
    /// on one PostgreSQL database would otherwise race: CREATE TABLE IF NOT EXISTS is not atomic there
    /// (the loser fails on pg_type's unique index), so they queue on an advisory lock first. SQLite
    /// takes its write lock with the first statement.
    /// </summary>
    public async Task EnsureSchemaAsync(CancellationToken ct)
    {
        await using var connection = await Database.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        if (Database.Provider == DatabaseProvider.PostgreSql)
        {
            await using var queue = Command(connection, "SELECT pg_advisory_xact_lock(@key)", ("@key", SchemaLockKey));
            queue.Transaction = transaction;
            await queue.ExecuteNonQueryAsync(ct);
        }
        foreach (var statement in Schema)
        {
            await using var command = Command(connection, statement);
            command.Transaction = transaction;
            await command.ExecuteNonQueryAsync(ct);
        }
        foreach (var (name, type) in AddedProcessColumns) await AddProcessColumnAsync(connection, transaction, name, type, ct);
        await transaction.CommitAsync(ct);
    }

    // PostgreSQL adds a column only if missing by itself; SQLite has no IF NOT EXISTS for columns, so
    // its table description is asked first.
    private async Task AddProcessColumnAsync(DbConnection connection, DbTransaction transaction, string name, string type, CancellationToken ct)
    {
        if (Database.Provider == DatabaseProvider.Sqlite)
        {
            await using var present = Command(connection, "SELECT COUNT(*) FROM pragma_table_info('processes') WHERE name = @name", ("@name", name));
            present.Transaction = transaction;
            if (Convert.ToInt64(await present.ExecuteScalarAsync(ct)) > 0) return;
        }
        var ifMissing = Database.Provider == DatabaseProvider.PostgreSql ? "IF NOT EXISTS " : "";
        await using var add = Command(connection, $"ALTER TABLE processes ADD COLUMN {ifMissing}{name} {type}");
        add.Transaction = transaction;
        await add.ExecuteNonQueryAsync(ct);
    }

    /// <summary>The journal ordering the projection has applied up to, or 0 before its first run.</summary>
    public async Task<long> ReadOffsetAsync(string projection, CancellationToken ct)
    {
        await using var connection = await Database.OpenAsync(ct);
        await using var command = Command(connection, "SELECT position FROM projection_offsets WHERE projection_name = @name", ("@name", projection));
        return await command.ExecuteScalarAsync(ct) is { } value and not DBNull ? Convert.ToInt64(value) : 0;
    }

    /// <summary>Applies journal entries and moves the offset, in one transaction: all or nothing.</summary>
    public async Task<int> ProjectAsync(string projection, IReadOnlyList<JournalBatch> batches, long offset, CancellationToken ct)
    {
        await using var connection = await Database.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        var rows = 0;
        await using (var statements = new ProjectionStatements(connection, transaction))
        {
            foreach (var batch in batches)
            {
                rows += await statements.ProjectAsync(batch, ct);
                await statements.IndexAsync(batch, ct);
                await statements.GapsAsync(batch, ct);
            }
        }
        await using (var save = Command(connection, """
            INSERT INTO projection_offsets (projection_name, position) VALUES (@name, @position)
            ON CONFLICT (projection_name) DO UPDATE SET position = excluded.position
            """, ("@name", projection), ("@position", offset)))
        {
            save.Transaction = transaction;
            await save.ExecuteNonQueryAsync(ct);
        }
        await transaction.CommitAsync(ct);
        return rows;
    }

    public async Task<ProcessRecord?> GetAsync(string execId, CancellationToken ct)
    {
        await using var connection = await Database.OpenAsync(ct);
        await using var command = Command(connection, $"SELECT {Columns} FROM processes p WHERE p.exec_id = @exec_id", ("@exec_id", execId));
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? ReadRecord(reader) : null;
    }

    /// <summary>The process itself (when known) followed by its ancestors, parent first.</summary>
    /// <remarks>
    /// The lineage queries join with CROSS JOIN so SQLite keeps the walk (a few rows) as the outer loop
    /// and looks processes up by index; a plain JOIN let its planner scan the whole table once a host
    /// held a million rows. PostgreSQL treats CROSS JOIN + WHERE as the same inner join.
    /// </remarks>
    public async Task<IReadOnlyList<ProcessRecord>> ChainFromAsync(string execId, CancellationToken ct)
    {
        const string sql = $"""
            WITH RECURSIVE chain (exec_id, parent_exec_id, depth) AS (
                SELECT exec_id, parent_exec_id, 0 FROM processes WHERE exec_id = @exec_id
                UNION ALL
                SELECT p.exec_id, p.parent_exec_id, c.depth + 1
                FROM chain c CROSS JOIN processes p
                WHERE p.exec_id = c.parent_exec_id AND c.depth < @max_depth)
            SELECT {Columns} FROM chain c CROSS JOIN processes p
            WHERE p.exec_id = c.exec_id
            ORDER BY c.depth
            """;
        await using var connection = await Database.OpenAsync(ct);
        await using var command = Command(connection, sql, ("@exec_id", execId), ("@max_depth", MaxAncestors));
        var chain = new List<ProcessRecord>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) chain.Add(ReadRecord(reader));
        return chain;
    }

    /// <summary>
    /// Descendants breadth-first (by depth, then start time), to <paramref name="maxDepth"/>, at most
    /// <paramref name="limit"/> of them (the last generation returned may be cut).
    /// </summary>
    /// <remarks>
    /// The walk is bounded, not filtered afterwards: the outer LIMIT ends the recursion once it has
    /// enough rows (SQLite runs the CTE as a co-routine, PostgreSQL evaluates only the rows fetched),
    /// and both walk generation by generation, so what is cut is the deepest. Each step looks children
    /// up through ix_processes_parent. Below a near-root process of a 100,000-row history the unbounded
    /// walk read every row and sorted them all before the API cut them to its cap.
    /// </remarks>
    public async Task<IReadOnlyList<HistoryDescendant>> DescendantsAsync(string execId, int maxDepth, int limit, CancellationToken ct)
    {
        const string sql = $"""
            WITH RECURSIVE tree (exec_id, depth) AS (
                SELECT exec_id, 0 FROM processes WHERE exec_id = @exec_id
                UNION ALL
                SELECT p.exec_id, t.depth + 1
                FROM tree t CROSS JOIN processes p
                WHERE p.parent_exec_id = t.exec_id AND t.depth < @max_depth),
            bounded (exec_id, depth) AS (SELECT exec_id, depth FROM tree LIMIT @rows)
            SELECT {Columns}, b.depth FROM bounded b CROSS JOIN processes p
            WHERE p.exec_id = b.exec_id AND b.depth > 0
            ORDER BY b.depth, p.start_time
            """;
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        await using var connection = await Database.OpenAsync(ct);
        // One row more than the limit: the process itself (depth 0) comes first.
        await using var command = Command(connection, sql, ("@exec_id", execId), ("@max_depth", maxDepth), ("@rows", limit + 1));
        var descendants = new List<HistoryDescendant>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) descendants.Add(new HistoryDescendant(ReadRecord(reader), reader.GetInt32(ColumnCount)));
        return descendants;
    }

    /// <summary>
    /// A host's processes, most recently started first, optionally by pid, start window, container
    /// (its id or a prefix of it) and pod UID.
    /// </summary>
    public async IAsyncEnumerable<ProcessRecord> ListAsync(
        string host, int? pid, DateTime? startedAfter, DateTime? startedBefore,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct,
        string? container = null, string? podUid = null, string? podName = null, string? podNamespace = null)
    {
        var parameters = new List<(string, object?)> { ("@host", host) };
        var sql = $"SELECT {Columns} FROM processes p WHERE p.host = @host";
        if (pid is { } p)
        {
            sql += " AND p.pid = @pid";
            parameters.Add(("@pid", p));
        }
        if (startedAfter is { } after)
        {
            sql += " AND p.start_time >= @after";
            parameters.Add(("@after", WireConverter.ToUnixTicks(after)));
        }
        if (startedBefore is { } before)
        {
            sql += " AND p.start_time < @before";
            parameters.Add(("@before", WireConverter.ToUnixTicks(before)));
        }
        if (container is { Length: > 0 })
        {
            // Ids are stored as the runtime names them: lowercase hex.
            sql += " AND substr(p.container_id, 1, @container_length) = @container";
            parameters.Add(("@container", container.ToLowerInvariant()));
            parameters.Add(("@container_length", container.Length));
        }
        if (podUid is { Length: > 0 })
        {
            sql += " AND p.pod_uid = @pod_uid";
            parameters.Add(("@pod_uid", podUid.ToLowerInvariant()));
        }
        if (podName is not null)
        {
            sql += " AND p.pod_name = @pod_name";
            parameters.Add(("@pod_name", podName));
        }
        if (podNamespace is not null)
        {
            sql += " AND p.pod_namespace = @pod_namespace";
            parameters.Add(("@pod_namespace", podNamespace));
        }
        sql += " ORDER BY p.start_time DESC";
        await using var connection = await Database.OpenAsync(ct);
        await using var command = Command(connection, sql, [.. parameters]);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) yield return ReadRecord(reader);
    }

    /// <summary>
    /// The sequence number of the host's latest journal entry holding events that the projection has
    /// applied (0: none yet). A host's entries are applied in sequence, so every earlier one is in too.
    /// </summary>
    public async Task<long> ProjectedUpToAsync(string host, CancellationToken ct)
    {
        await using var connection = await Database.OpenAsync(ct);
        await using var command = Command(connection, "SELECT MAX(sequence_nr) FROM host_journal_index WHERE host = @host", ("@host", host));
        return await command.ExecuteScalarAsync(ct) is { } value and not DBNull ? Convert.ToInt64(value) : 0;
    }

    /// <summary>
    /// The journal sequence ranges of a host that can hold events of [from, to]: the indexed entries
    /// whose time span meets the window, then the entries the projection has not indexed yet.
    /// Entries are indexed by the times of the events in them, not by when they were written, so a
    /// collector that delivered old events late still has them found.
    /// </summary>
    public async Task<IReadOnlyList<(long From, long To)>> JournalRangesAsync(string host, DateTime from, DateTime to, CancellationToken ct)
    {
        const string sql = """
            SELECT
                (SELECT MIN(sequence_nr) FROM host_journal_index WHERE host = @host AND last_time >= @from AND first_time <= @to),
                (SELECT MAX(sequence_nr) FROM host_journal_index WHERE host = @host AND last_time >= @from AND first_time <= @to),
                (SELECT MAX(sequence_nr) FROM host_journal_index WHERE host = @host)
            """;
        await using var connection = await Database.OpenAsync(ct);
        await using var command = Command(connection, sql,
            ("@host", host), ("@from", WireConverter.ToUnixTicks(from)), ("@to", WireConverter.ToUnixTicks(to)));
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var ranges = new List<(long From, long To)>();
        var lastIndexed = reader.IsDBNull(2) ? 0 : reader.GetInt64(2);
        if (!reader.IsDBNull(0)) ranges.Add((reader.GetInt64(0), reader.GetInt64(1)));
        ranges.Add((lastIndexed + 1, long.MaxValue));
        return ranges;
    }

    /// <summary>
    /// The host's gaps that meet [from, to], the latest <paramref name="limit"/> of them, oldest first
    /// (by end, then journal order).
    /// </summary>
    public async Task<IReadOnlyList<HostGap>> GapsAsync(string host, DateTime from, DateTime to, int limit, CancellationToken ct)
    {
        const string sql = """
            SELECT host, from_time, to_time, reason, run_id, next_run_id, lost_records FROM host_gaps
            WHERE host = @host AND to_time >= @from AND from_time <= @to
            ORDER BY to_time DESC, sequence_nr DESC, ordinal DESC
            LIMIT @limit
            """;
        await using var connection = await Database.OpenAsync(ct);
        await using var command = Command(connection, sql,
            ("@host", host), ("@from", WireConverter.ToUnixTicks(from)), ("@to", WireConverter.ToUnixTicks(to)), ("@limit", limit));
        var gaps = new List<HostGap>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            gaps.Add(new HostGap(reader.GetString(0), WireConverter.FromUnixTicks(reader.GetInt64(1)), WireConverter.FromUnixTicks(reader.GetInt64(2)),
                (HostGapReason)reader.GetInt32(3), reader.GetString(4), reader.GetString(5), (ulong)reader.GetInt64(6)));
        }
        gaps.Reverse();
        return gaps;
    }

    private static ProcessRecord ReadRecord(DbDataReader reader)
    {
        var exitTime = reader.IsDBNull(9) ? (DateTime?)null : WireConverter.FromUnixTicks(reader.GetInt64(9));
        return new ProcessRecord(
            ExecId: reader.GetString(0),
            Host: reader.GetString(1),
            Pid: reader.GetInt32(2),
            ParentExecId: reader.IsDBNull(3) ? null : reader.GetString(3),
            Binary: reader.GetString(4),
            Arguments: reader.GetString(5),
            Cwd: reader.GetString(6),
            Uid: reader.IsDBNull(30) ? (uint)reader.GetInt64(7) : null,
            StartTime: WireConverter.FromUnixTicks(reader.GetInt64(8)),
            ExitTime: exitTime,
            ExitStatus: reader.IsDBNull(10) ? null : reader.GetInt32(10),
            ExitSignal: reader.IsDBNull(11) ? null : reader.GetInt32(11),
            // The host entity holds every live process; a row only the history knows has ended.
            Live: false,
            Container: ReadContainer(reader),
            End: reader.IsDBNull(16) ? ProcessEndKind.None : (ProcessEndKind)reader.GetInt32(16),
            EndedAfter: reader.IsDBNull(17) ? null : WireConverter.FromUnixTicks(reader.GetInt64(17)),
            MaybeExecProbe: !reader.IsDBNull(27) && reader.GetInt32(27) != 0,
            NamespacePid: reader.IsDBNull(29) ? 0 : reader.GetInt32(29));
    }

    // A pod row without labels, workload or annotations is one stored before they were: it reads as a pod that had none.
    // The container's exec probes are not kept (the row keeps what they decided: maybe_exec_probe).
    private static ContainerIdentity? ReadContainer(DbDataReader reader)
    {
        if (reader.IsDBNull(12)) return null;
        var podUid = reader.IsDBNull(13) ? null : reader.GetString(13);
        if (reader.IsDBNull(14) || reader.IsDBNull(15)) return new ContainerIdentity(reader.GetString(12), podUid);
        string Text(int ordinal) => reader.IsDBNull(ordinal) ? "" : reader.GetString(ordinal);
        var labels = reader.IsDBNull(18) ? [] : StringMapColumn.Parse(reader.GetString(18), "pod_labels", reader.GetString(0));
        var annotations = reader.IsDBNull(28) ? [] : StringMapColumn.Parse(reader.GetString(28), "pod_annotations", reader.GetString(0));
        var container = reader.IsDBNull(21)
            ? null
            : new KubernetesContainer(reader.GetString(21), Text(22), Text(23), Text(24),
                StartedAt: reader.IsDBNull(25) ? null : WireConverter.FromUnixTicks(reader.GetInt64(25)),
                Privileged: !reader.IsDBNull(26) && reader.GetInt32(26) != 0);
        var pod = new KubernetesPod(podUid ?? "", Namespace: reader.GetString(14), Name: reader.GetString(15), labels,
            Workload: Text(19), WorkloadKind: Text(20), container, annotations);
        return new ContainerIdentity(reader.GetString(12), podUid, pod);
    }

    private static DbCommand Command(DbConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }
        return command;
    }

    /// <summary>
    /// The projection's statements of one transaction, each a command made once and run per event with
    /// new values: the database parses and plans a statement once per group (SQLite keeps a command's
    /// prepared statement while its text stays the same), not once per event.
    /// </summary>
    private sealed class ProjectionStatements(DbConnection connection, DbTransaction transaction) : IAsyncDisposable
    {
        // One image per pid at a time: a newer image, by its start or by its exit, ends any older image still open,
        // replaced (2: ProcessEndKind.Replaced). By its exit too: a clone whose exec never came (lost, or cut by a crash)
        // is ended by the exit of the image that replaced it, as the host tree ends it.
        private readonly DbCommand _replaced = Statement(connection, transaction, """
            UPDATE processes SET exit_time = @start_time, end_kind = 2
            WHERE host = @host AND pid = @pid AND exit_time IS NULL AND start_time < @start_time
            """, "@host", "@pid", "@start_time");

        // A start that arrives after a newer image of its pid (a clone published after its own exec) is
        // already replaced: it ends where the next image of the pid starts, as the host tree has it.
        private readonly DbCommand _lateReplaced = Statement(connection, transaction, """
            UPDATE processes SET end_kind = 2, exit_time = (
                SELECT MIN(n.start_time) FROM processes n WHERE n.host = @host AND n.pid = @pid AND n.start_time > @start_time)
            WHERE exec_id = @exec_id AND exit_time IS NULL
              AND EXISTS (SELECT 1 FROM processes n WHERE n.host = @host AND n.pid = @pid AND n.start_time > @start_time)
            """, "@host", "@pid", "@start_time", "@exec_id");

        // The process's own columns, then its container's: a process outside a container has those all NULL, and its upsert
        // leaves them out (under a conflict COALESCE keeps the stored value of a column left out, as it keeps it for a NULL): 16
        // parameters bound per row instead of 31, where binding each (its name looked up by text) was most of the statement.
        private static readonly string[] ProcessColumns =
        [
            "exec_id", "host", "pid", "parent_exec_id", "binary_path", "args", "cwd", "uid", "start_time",
            "exit_time", "exit_code", "signal", "end_kind", "ended_after", "namespace_pid", "uid_unknown",
        ];

        private static readonly string[] ContainerColumns =
        [
            "container_id", "pod_uid", "pod_namespace", "pod_name", "pod_labels", "pod_workload", "pod_workload_kind",
            "pod_container_id", "pod_container_name", "pod_container_image", "pod_container_image_id",
            "pod_container_started_at", "pod_container_privileged", "maybe_exec_probe", "pod_annotations",
        ];

        /// <summary>A process's identity and start: taken from the first row of its exec_id, never updated by a later one.</summary>
        private static readonly int FirstUpdatedColumn = Array.IndexOf(ProcessColumns, "exit_time");

        private static readonly (string Sql, string[] Parameters) UpsertWithContainer = Upsert([.. ProcessColumns, .. ContainerColumns]);
        private static readonly (string Sql, string[] Parameters) UpsertOutsideContainers = Upsert(ProcessColumns);

        private readonly DbCommand _upsert = Statement(connection, transaction, UpsertWithContainer.Sql, UpsertWithContainer.Parameters);
        private readonly DbCommand _upsertOutsideContainers = Statement(connection, transaction, UpsertOutsideContainers.Sql, UpsertOutsideContainers.Parameters);

        private readonly DbCommand _gap = Statement(connection, transaction, """
            INSERT INTO host_gaps (host, sequence_nr, ordinal, from_time, to_time, reason, run_id, next_run_id, lost_records)
            VALUES (@host, @sequence_nr, @ordinal, @from, @to, @reason, @run_id, @next_run_id, @lost_records)
            ON CONFLICT (host, sequence_nr, ordinal) DO NOTHING
            """, "@host", "@sequence_nr", "@ordinal", "@from", "@to", "@reason", "@run_id", "@next_run_id", "@lost_records");

        private readonly DbCommand _index = Statement(connection, transaction, """
            INSERT INTO host_journal_index (host, sequence_nr, first_time, last_time) VALUES (@host, @sequence_nr, @first, @last)
            ON CONFLICT (host, sequence_nr) DO NOTHING
            """, "@host", "@sequence_nr", "@first", "@last");

        /// <summary>
        /// The batch's events in order, one statement group each, except that a process's start followed in the batch by its
        /// own exit, with no event of its pid between them, is written once as the merge of the two, where the exit was: the
        /// same row as the two upserts one after the other (a later non-NULL value wins, the first row's identity stays, the
        /// uid comes from the first that knew it), the older images of the pid ended once (the exit would end the same), and no
        /// late-replacement check (the exit's time and end overwrite what it would set). In a short process's life that is
        /// two statements instead of five.
        /// </summary>
        public async Task<int> ProjectAsync(JournalBatch batch, CancellationToken ct)
        {
            var events = batch.Events;
            var records = new ProcessRecord?[events.Count];
            var partners = MergedStartsAndExits(events, records);
            var rows = 0;
            for (var i = 0; i < events.Count; i++)
            {
                if (records[i] is not { } record) continue;
                var partner = partners?[i] ?? 0;
                if (partner < 0) continue;
                if (partner == 0)
                {
                    rows += await ProjectAsync(events[i].Kind, record, ct);
                    continue;
                }
                await Run(_replaced, ct, record.Host, record.Pid, WireConverter.ToUnixTicks(record.StartTime));
                rows += await UpsertAsync(Merged(RowOf(records[partner - 1]!), RowOf(record)), ct);
            }
            return rows;
        }

        /// <summary>
        /// The records of the batch's events (null for a hook), and null when no start merges into its exit; else by index: the
        /// start's index + 1 at an exit it merges into, -1 at such a start, 0 elsewhere.
        /// </summary>
        private static int[]? MergedStartsAndExits(IReadOnlyList<EnrichedEvent> events, ProcessRecord?[] records)
        {
            int[]? partners = null;
            // The latest start of each pid whose next event has not come yet in the batch.
            var openStarts = new Dictionary<int, int>();
            for (var i = 0; i < events.Count; i++)
            {
                var enriched = events[i];
                if (enriched.Kind == EnrichedKind.Hook) continue;
                var record = ProcessRecords.From(enriched.Process, live: enriched.Process.Exit is null);
                records[i] = record;
                if (openStarts.Remove(record.Pid, out var start) && enriched.Kind == EnrichedKind.Exit && records[start] is { } started
                    && started.ExecId == record.ExecId && started.StartTime == record.StartTime && record.ExitTime is not null && record.End != ProcessEndKind.None)
                {
                    partners ??= new int[events.Count];
                    partners[i] = start + 1;
                    partners[start] = -1;
                }
                if (enriched.Kind is EnrichedKind.Exec or EnrichedKind.Clone && record.ExitTime is null) openStarts[record.Pid] = i;
            }
            return partners;
        }

        private async Task<int> ProjectAsync(EnrichedKind kind, ProcessRecord record, CancellationToken ct)
        {
            var startTime = WireConverter.ToUnixTicks(record.StartTime);
            var starts = kind is EnrichedKind.Exec or EnrichedKind.Clone;
            await Run(_replaced, ct, record.Host, record.Pid, startTime);
            var rows = await UpsertAsync(RowOf(record), ct);
            if (starts && record.ExitTime is null) await Run(_lateReplaced, ct, record.Host, record.Pid, startTime, record.ExecId);
            return rows;
        }

        /// <summary>A row of <see cref="ProcessColumns"/> alone goes by the upsert that leaves the container columns out.</summary>
        private Task<int> UpsertAsync(object?[] row, CancellationToken ct) =>
            Run(row.Length == ProcessColumns.Length ? _upsertOutsideContainers : _upsert, ct, row);

        /// <summary>The upsert's values for a record: <see cref="ProcessColumns"/>, then <see cref="ContainerColumns"/> when it is in a container.</summary>
        private static object?[] RowOf(ProcessRecord record)
        {
            var startTime = WireConverter.ToUnixTicks(record.StartTime);
            return record.Container is not { } container
                ? ProcessValues(record, startTime, room: 0)
                : WithContainer(ProcessValues(record, startTime, room: ContainerColumns.Length), container, record.MaybeExecProbe);
        }

        /// <summary>
        /// The row that the upsert of <paramref name="first"/> and then that of <paramref name="second"/> leave (see <see cref="Upsert"/>):
        /// the first's identity and start, each later column the second's unless it is NULL (or left out), and the uid of the first
        /// unless it did not know it.
        /// </summary>
        private static object?[] Merged(object?[] first, object?[] second)
        {
            var firstKnewUid = first[UidUnknownColumn] is null;
            var merged = first.Length >= second.Length ? first : [.. first, .. new object?[second.Length - first.Length]];
            for (var i = FirstUpdatedColumn; i < merged.Length; i++)
                if (i != UidUnknownColumn && i < second.Length) merged[i] = second[i] ?? merged[i];
            if (!firstKnewUid)
            {
                merged[UidColumn] = second[UidColumn];
                merged[UidUnknownColumn] = second[UidUnknownColumn];
            }
            return merged;
        }

        private static readonly int UidColumn = Array.IndexOf(ProcessColumns, "uid");
        private static readonly int UidUnknownColumn = Array.IndexOf(ProcessColumns, "uid_unknown");

        /// <summary>The values of <see cref="ProcessColumns"/>, in their order, with <paramref name="room"/> slots left after them.</summary>
        private static object?[] ProcessValues(ProcessRecord record, long startTime, int room)
        {
            var values = new object?[ProcessColumns.Length + room];
            values[0] = record.ExecId;
            values[1] = record.Host;
            values[2] = record.Pid;
            values[3] = record.ParentExecId;
            values[4] = record.Binary;
            values[5] = record.Arguments;
            values[6] = record.Cwd;
            values[7] = (long)(record.Uid ?? 0);
            values[8] = startTime;
            values[9] = record.ExitTime is { } exit ? WireConverter.ToUnixTicks(exit) : null;
            values[10] = record.ExitStatus;
            values[11] = record.ExitSignal;
            values[12] = record.End == ProcessEndKind.None ? null : (int)record.End;
            values[13] = record.EndedAfter is { } after ? WireConverter.ToUnixTicks(after) : null;
            values[14] = record.NamespacePid > 0 ? record.NamespacePid : null;
            values[15] = record.Uid is null ? 1 : null;
            return values;
        }

        /// <summary>Fills the slots after the process's values with those of <see cref="ContainerColumns"/>.</summary>
        private static object?[] WithContainer(object?[] values, ContainerIdentity container, bool maybeExecProbe)
        {
            var pod = container.Pod;
            var at = ProcessColumns.Length;
            values[at] = container.ContainerId;
            values[at + 1] = container.PodUid;
            values[at + 2] = pod?.Namespace;
            values[at + 3] = pod?.Name;
            values[at + 4] = pod is null ? null : StringMapColumn.Format(pod.Labels);
            values[at + 5] = pod?.Workload;
            values[at + 6] = pod?.WorkloadKind;
            values[at + 7] = pod?.Container?.RuntimeId;
            values[at + 8] = pod?.Container?.Name;
            values[at + 9] = pod?.Container?.ImageName;
            values[at + 10] = pod?.Container?.ImageId;
            values[at + 11] = pod?.Container?.StartedAt is { } started ? WireConverter.ToUnixTicks(started) : null;
            values[at + 12] = pod?.Container is { } named ? Flag(named.Privileged) : null;
            values[at + 13] = pod?.Container is null ? null : Flag(maybeExecProbe);
            values[at + 14] = pod is null ? null : StringMapColumn.Format(pod.Annotations);
            return values;
        }

        /// <summary>
        /// The row of a process, inserted, or merged into the row its exec_id has: a later value fills or replaces what
        /// the row had (exit, end, container, pod), a NULL or a column left out keeps it; the uid a row stored from an
        /// exit lacked comes with the exec.
        /// </summary>
        private static (string Sql, string[] Parameters) Upsert(string[] columns)
        {
            var merged = new List<string>();
            for (var i = FirstUpdatedColumn; i < columns.Length; i++)
                if (columns[i] != "uid_unknown") merged.Add($"{columns[i]} = COALESCE(excluded.{columns[i]}, processes.{columns[i]})");
            // A row stored from the exit of a process not known then takes the uid its exec brings later.
            merged.Add("uid = CASE WHEN processes.uid_unknown IS NULL THEN processes.uid ELSE excluded.uid END");
            merged.Add("uid_unknown = CASE WHEN processes.uid_unknown IS NULL THEN NULL ELSE excluded.uid_unknown END");
            var parameters = Array.ConvertAll(columns, column => "@" + column);
            return ($"INSERT INTO processes ({string.Join(", ", columns)}) VALUES ({string.Join(", ", parameters)}) " +
                    $"ON CONFLICT (exec_id) DO UPDATE SET {string.Join(", ", merged)}", parameters);
        }

        public async Task IndexAsync(JournalBatch batch, CancellationToken ct)
        {
            if (batch.Events.Count == 0) return;
            long first = long.MaxValue, last = long.MinValue;
            foreach (var enriched in batch.Events)
            {
                var ticks = WireConverter.ToUnixTicks(enriched.Time);
                first = Math.Min(first, ticks);
                last = Math.Max(last, ticks);
            }
            await Run(_index, ct, batch.Host, batch.SequenceNr, first, last);
        }

        public async Task GapsAsync(JournalBatch batch, CancellationToken ct)
        {
            if (batch.Gaps is not { } gaps) return;
            for (var i = 0; i < gaps.Count; i++)
            {
                var gap = gaps[i];
                await Run(_gap, ct, batch.Host, batch.SequenceNr, i, WireConverter.ToUnixTicks(gap.From), WireConverter.ToUnixTicks(gap.To),
                    (int)gap.Reason, gap.RunId, gap.NextRunId, (long)gap.LostRecords);
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _replaced.DisposeAsync();
            await _lateReplaced.DisposeAsync();
            await _upsert.DisposeAsync();
            await _upsertOutsideContainers.DisposeAsync();
            await _index.DisposeAsync();
            await _gap.DisposeAsync();
        }

        private static DbCommand Statement(DbConnection connection, DbTransaction transaction, string sql, params string[] parameterNames)
        {
            var command = connection.CreateCommand();
            command.CommandText = sql;
            command.Transaction = transaction;
            foreach (var name in parameterNames)
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = name;
                command.Parameters.Add(parameter);
            }
            return command;
        }

        private static int Flag(bool value) => value ? 1 : 0;

        /// <summary>Runs <paramref name="command"/> with its parameters set, in their declared order, to <paramref name="values"/>.</summary>
        private static Task<int> Run(DbCommand command, CancellationToken ct, params object?[] values)
        {
            for (var i = 0; i < values.Length; i++) command.Parameters[i].Value = values[i] ?? DBNull.Value;
            return command.ExecuteNonQueryAsync(ct);
        }
    }
}
