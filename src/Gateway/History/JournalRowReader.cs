using Forkline.Gateway.Storage;

namespace Forkline.Gateway.History;

/// <summary>One row of Akka.Persistence.Sql's journal table, as stored (the payload still serialized).</summary>
public sealed record JournalRow(long Ordering, string PersistenceId, long SequenceNr, string? Tags, int SerializerId, string Manifest, byte[] Message);

/// <summary>
/// Reads the journal table of Akka.Persistence.Sql (default table and column names, the same on SQLite
/// and PostgreSQL) in ordering order, with one plain indexed query: the projection's poll costs one
/// small statement, not a stream materialized per poll and a second query for the highest ordering, as
/// Akka's eventsByTag does.
/// </summary>
public sealed class JournalRowReader(DatabaseSettings database)
{
    private const string RowsAfter = """
        SELECT ordering, persistence_id, sequence_number, tags, identifier, manifest, message
        FROM journal WHERE ordering > @after ORDER BY ordering LIMIT @rows
        """;

    /// <summary>At most <paramref name="rows"/> rows whose ordering is above <paramref name="after"/>, lowest first.</summary>
    public async Task<IReadOnlyList<JournalRow>> ReadAfterAsync(long after, int rows, CancellationToken ct)
    {
        await using var connection = await database.OpenAsync(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = RowsAfter;
        AddParameter(command, "@after", after);
        AddParameter(command, "@rows", rows);
        var read = new List<JournalRow>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            read.Add(new JournalRow(
                reader.GetInt64(0),
                reader.GetString(1),
                reader.GetInt64(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? 0 : reader.GetInt32(4),
                reader.IsDBNull(5) ? "" : reader.GetString(5),
                (byte[])reader.GetValue(6)));
        }
        return read;
    }

    private static void AddParameter(System.Data.Common.DbCommand command, string name, long value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value;
        command.Parameters.Add(parameter);
    }
}
