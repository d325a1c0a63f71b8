using Microsoft.Data.Sqlite;

namespace Forkline.Gateway.Tests.Support;

/// <summary>A fresh folder under /tmp for one test's database, removed afterwards.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "forkline-test-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        // Pooled connections keep the SQLite file open.
        SqliteConnection.ClearAllPools();
        Directory.Delete(Path, recursive: true);
    }
}
