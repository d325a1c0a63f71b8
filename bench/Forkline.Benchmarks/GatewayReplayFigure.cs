using System.Diagnostics;
using Forkline.Gateway.Queries;
using Forkline.Gateway.Tests.Support;

namespace Forkline.Benchmarks;

/// <summary>Replay events/s through <see cref="IProcessQueries.ReplayAsync"/> over a host's whole persisted history.</summary>
public static class GatewayReplayFigure
{
    public static async Task<double> MeasureAsync(IProcessQueries queries, string host, int expectedEvents)
    {
        var from = SyntheticHost.Boot.AddDays(-1);
        var to = DateTime.UtcNow.AddDays(1);
        var clock = Stopwatch.StartNew();
        var replayed = 0;
        await foreach (var _ in queries.ReplayAsync(host, from, to, CancellationToken.None)) replayed++;
        var elapsed = clock.Elapsed;
        // The host's init exec is persisted too.
        if (replayed != expectedEvents + 1)
            throw new InvalidOperationException($"replay of {host} returned {replayed:N0} events; {expectedEvents + 1:N0} were persisted");
        return replayed / elapsed.TotalSeconds;
    }
}
