namespace Forkline.Gateway.Tests.Support.PostgreSql;

/// <summary>
/// The test classes that run on PostgreSQL share one server for the whole run; each test still gets
/// a database of its own. Their tests skip, with the reason, where no server can be started.
/// </summary>
[CollectionDefinition(Name)]
public sealed class PostgreSqlCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "PostgreSQL";
}
