using Forkline.Gateway.Storage;
using Forkline.Gateway.Tests.Support;
using Forkline.Hosting;

namespace Forkline.Gateway.Tests;

public sealed class DataDirectoryLockTests : IDisposable
{
    private readonly TestDatabase _data = new();

    public void Dispose() => _data.Dispose();

    [Fact]
    public async Task A_second_node_on_the_same_data_directory_refuses_in_one_line_naming_the_holder_and_starts_once_the_first_stopped()
    {
        var settings = TestNodes.Settings(_data) with { Database = new DatabaseSettings() };
        await using (var first = await TestNodes.StartAsync(settings))
        {
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => TestNodes.StartAsync(settings with { MetricsRegistry = Prometheus.Metrics.NewCustomRegistry() }));
            Assert.DoesNotContain('\n', refused.Message);
            Assert.Contains($"is in use by another forkline node (pid {Environment.ProcessId})", refused.Message);
            Assert.Contains("--data", refused.Message);
            Assert.True(first.IsUp, "the first node runs on");
        }

        await using var next = await TestNodes.StartAsync(settings with { MetricsRegistry = Prometheus.Metrics.NewCustomRegistry() });
        Assert.True(next.IsUp);
    }

    [Fact]
    public void A_data_directory_that_cannot_be_created_is_one_line_naming_the_folder()
    {
        var blocker = Path.Combine(_data.Path, "a-file");
        File.WriteAllText(blocker, "not a folder");

        var refused = Assert.Throws<InvalidOperationException>(() => DataDirectoryLock.Acquire(Path.Combine(blocker, "data")));

        Assert.Contains($"the data directory {Path.Combine(blocker, "data")} cannot be written", refused.Message);
        Assert.DoesNotContain('\n', refused.Message);
    }
}
