using System.Globalization;
using System.Net.Sockets;
using Forkline.Gateway.Tests.Support;
using Forkline.Hosting;
using Forkline.Kernel.Tests;

namespace Forkline.Cluster.Tests;

/// <summary>
/// A node keeps glibc's malloc to <see cref="NativeHeap.Arenas"/> arenas from its first thread on: it starts itself
/// again, in place, with MALLOC_ARENA_MAX set (and its call count threshold), and an operator's own value stands. Without it the runtime's threads
/// made six arenas before Main, and after the soak's churn 50 MB sat in them.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class NativeHeapArenaTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [KernelFact]
    public async Task A_node_runs_with_the_arena_limit_in_its_environment_as_the_same_process_with_its_arguments()
    {
        string[] arguments = ["collector", "--json"];
        await using var collector = OutputProcess.Start(GatewayProcess.Executable, arguments,
            new Dictionary<string, string?> { [NativeHeap.ArenaMaxVariable] = null });
        await PrintsEventsAsync(collector);

        Assert.Contains($"{NativeHeap.ArenaMaxVariable}={NativeHeap.Arenas}", EnvironmentOf(collector.Id));
        Assert.Contains($"{NodeRestart.CallCountThresholdVariable}={NodeRestart.CallCountThreshold}", EnvironmentOf(collector.Id));
        Assert.Contains($"{NodeRestart.CallCountingDelayVariable}={NodeRestart.CallCountingDelayMilliseconds}", EnvironmentOf(collector.Id));
        Assert.Equal([GatewayProcess.Executable, .. arguments], CommandLineOf(collector.Id));
        // glibc's main heap is one arena; the others sit at 64 MiB-aligned addresses.
        Assert.InRange(AlignedArenas(collector.Id), 0, NativeHeap.Arenas - 1);
        // dotnet-counters and dotnet-trace still reach it: the runtime it replaced left no socket in the way.
        var diagnostics = Assert.Single(Directory.GetFiles(Path.GetTempPath(), $"dotnet-diagnostic-{collector.Id}-*-socket"));
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(diagnostics));
    }

    [KernelFact]
    public async Task An_operators_own_arena_limit_stands()
    {
        await using var collector = OutputProcess.Start(GatewayProcess.Executable, ["collector", "--json"],
            new Dictionary<string, string?> { [NativeHeap.ArenaMaxVariable] = "1" });
        await PrintsEventsAsync(collector);

        Assert.Contains($"{NativeHeap.ArenaMaxVariable}=1", EnvironmentOf(collector.Id));
        Assert.DoesNotContain($"{NativeHeap.ArenaMaxVariable}={NativeHeap.Arenas}", EnvironmentOf(collector.Id));
        Assert.Equal(0, AlignedArenas(collector.Id));
    }

    private static async Task PrintsEventsAsync(OutputProcess collector)
    {
        await TestNodes.EventuallyAsync(() => Task.FromResult(collector.HasExited || collector.OutputLines.Count > 0), "the collector prints an event", Patience);
        Assert.False(collector.HasExited, $"the collector runs: {collector.ErrorText}");
        Assert.StartsWith("{", collector.OutputLines.First());
    }

    private static string[] EnvironmentOf(int pid) => File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries);

    private static string[] CommandLineOf(int pid) => File.ReadAllText($"/proc/{pid}/cmdline").TrimEnd('\0').Split('\0');

    /// <summary>
    /// glibc's arenas besides the main heap: each reserves its HEAP_MAX_SIZE (64 MiB) on a 64 MiB boundary, an anonymous
    /// read-write part that grows into an inaccessible rest; the GC's regions sit in one far larger reservation.
    /// </summary>
    private static int AlignedArenas(int pid)
    {
        const ulong heapMax = 64UL << 20;
        var maps = File.ReadLines($"/proc/{pid}/maps").Select(line =>
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var bounds = fields[0].Split('-');
            return (Start: ulong.Parse(bounds[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                End: ulong.Parse(bounds[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture), Access: fields[1], Anonymous: fields.Length == 5);
        }).ToList();
        var arenas = 0;
        for (var i = 0; i < maps.Count; i++)
        {
            var map = maps[i];
            if (!map.Anonymous || map.Access != "rw-p" || map.Start % heapMax != 0) continue;
            var rest = i + 1 < maps.Count ? maps[i + 1] : default;
            if (map.End - map.Start == heapMax || (rest.Anonymous && rest.Access == "---p" && rest.Start == map.End && rest.End == map.Start + heapMax)) arenas++;
        }
        return arenas;
    }
}
