using System.Data.Common;
using Forkline.Contracts.Wire;
using Forkline.Gateway.History;
using Forkline.Gateway.HostTree;
using Forkline.Gateway.Queries;
using Forkline.Gateway.Storage;

namespace Forkline.Cluster.Tests;

/// <summary>One exec / exit / clone event as a host entity persisted it, with the journal row that holds it.</summary>
/// <param name="Ordering">The journal row's global ordering (what the projection's offset counts).</param>
/// <param name="Writer">The journal row's writer_uuid: one per gateway journal, so a host entity that moved to another gateway writes under another one.</param>
/// <param name="CreatedTicks">When the row was written: Akka.Persistence.Sql stamps <c>created</c> with DateTime.UtcNow.Ticks.</param>
/// <param name="ProducerId">The collector run (forwarder) whose batch the event came in.</param>
public sealed record JournaledEvent(string Host, long Ordering, string Writer, long CreatedTicks, string ProducerId, WireEvent Event);

/// <summary>One row of the projection's <c>processes</c> table.</summary>
/// <param name="ExitStatus">Set only by an exit the kernel reported; a row whose image was replaced by a newer one gets an exit_time and no status.</param>
/// <param name="EndKind">How it ended (<see cref="ProcessEndKind"/>); null while running.</param>
public sealed record ProjectedProcess(string ExecId, string Host, int Pid, string? ParentExecId, string Arguments, int? ExitStatus, int? ExitSignal, int? EndKind)
{
    /// <summary>
    /// Ended by an exit event: one the kernel reported, or one concluded when the process was found gone (its pid
    /// reused, or gone at a collector's start), which carries no status; not by a newer image of its pid.
    /// </summary>
    public bool Exited => ExitStatus is not null
        || EndKind is (int)ProcessEndKind.Exited or (int)ProcessEndKind.ConcludedAtRestart or (int)ProcessEndKind.ConcludedLost;
}

/// <summary>
/// What the gateways stored, read back with SQL from their database: the host entities' journal
/// entries and the projection's history table. The tests compare it with what was sent, so it reads
/// the tables directly instead of going through the gateways' own queries.
/// </summary>
public sealed class PersistedHistory(DatabaseSettings database)
{
    /// <summary>Every event in the journal entries of the hosts whose name is LIKE <paramref name="hostPattern"/>, in journal order.</summary>
    public async Task<List<JournaledEvent>> JournaledEventsAsync(string hostPattern)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await using var command = Command(connection,
            // Only event entries ("jh"): a host's journal also holds the final loss reports of its collector runs ("fr").
            "SELECT persistence_id, ordering, writer_uuid, created, message FROM journal WHERE persistence_id LIKE @id AND manifest = 'jh' ORDER BY ordering",
            ("@id", HostTreeEntity.PersistenceIdOf(hostPattern)));
        var events = new List<JournaledEvent>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var host = reader.GetString(0)[HostTreeEntity.PersistenceIdOf("").Length..];
            var persisted = HostEventsPersisted.Parser.ParseFrom((byte[])reader[4]);
            foreach (var wire in persisted.Events)
                events.Add(new JournaledEvent(host, reader.GetInt64(1), reader.GetString(2), reader.GetInt64(3), persisted.ProducerId, wire));
        }
        return events;
    }

    /// <summary>The projection's rows of the hosts whose name is LIKE <paramref name="hostPattern"/>.</summary>
    public async Task<List<ProjectedProcess>> ProjectedProcessesAsync(string hostPattern)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await using var command = Command(connection,
            "SELECT exec_id, host, pid, parent_exec_id, args, exit_code, signal, end_kind FROM processes WHERE host LIKE @host",
            ("@host", hostPattern));
        var rows = new List<ProjectedProcess>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add(new ProjectedProcess(reader.GetString(0), reader.GetString(1), reader.GetInt32(2),
                reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetString(4),
                reader.IsDBNull(5) ? null : reader.GetInt32(5), reader.IsDBNull(6) ? null : reader.GetInt32(6),
                reader.IsDBNull(7) ? null : reader.GetInt32(7)));
        }
        return rows;
    }

    /// <summary>Per host (LIKE <paramref name="hostPattern"/>), when its entity first wrote to the journal after <paramref name="ticks"/>.</summary>
    public async Task<List<(string Host, long FirstTicks)>> FirstWritesAfterAsync(long ticks, string hostPattern)
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await using var command = Command(connection,
            "SELECT persistence_id, MIN(created) FROM journal WHERE created > @ticks AND persistence_id LIKE @id GROUP BY persistence_id ORDER BY persistence_id",
            ("@ticks", ticks), ("@id", HostTreeEntity.PersistenceIdOf(hostPattern)));
        var writes = new List<(string, long)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) writes.Add((reader.GetString(0)[HostTreeEntity.PersistenceIdOf("").Length..], reader.GetInt64(1)));
        return writes;
    }

    /// <summary>The journal ordering up to which the history projection has applied every entry.</summary>
    public Task<long> ProjectedUpToAsync() => new HistoryStore(database).ReadOffsetAsync(HistoryProjection.Name, CancellationToken.None);

    internal static DbCommand Command(DbConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }
        return command;
    }
}
