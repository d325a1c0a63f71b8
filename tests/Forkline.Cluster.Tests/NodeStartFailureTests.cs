using Forkline.Gateway.Tests.Support;

namespace Forkline.Cluster.Tests;

/// <summary>A node that cannot start says why in one line of its own and exits non-zero: no stack trace, no unhandled exception.</summary>
public sealed class NodeStartFailureTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private readonly string _data = Path.Combine(Path.GetTempPath(), "forkline-start-" + Guid.NewGuid().ToString("N")[..12]);

    public void Dispose()
    {
        if (Directory.Exists(_data)) Directory.Delete(_data, recursive: true);
    }

    [Fact]
    public async Task A_cluster_address_Akka_cannot_bind_is_one_line_naming_it_and_exit_code_1()
    {
        // 192.0.2.1 is TEST-NET-1 (RFC 5737): never an address of this host, so Akka.Remote's bind fails at start.
        var result = await ExternalCommand.RunAsync(GatewayProcess.Executable,
        [
            "gateway", "--hostname", "192.0.2.1", "--port", "0", "--data", _data,
            "--api-http", "127.0.0.1:0", "--api-grpc", "127.0.0.1:0", "--ingest", "127.0.0.1:0",
        ], Patience);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Equal("", result.Output);
        var lines = result.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // Akka's own reports of the failed bind (with its stack) are dropped: the node's one line says it.
        var own = Assert.Single(lines, line => line.Contains("fail:", StringComparison.Ordinal));
        Assert.Contains("fail: forkline.gateway", own, StringComparison.Ordinal);
        Assert.Matches(@"the node did not start: .*192\.0\.2\.1", own);
        Assert.DoesNotContain("Unhandled exception", result.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain(lines, line => line.TrimStart().StartsWith("at ", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, line => line.Contains("Hosting failed to start", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_seed_address_Akka_cannot_read_is_one_line_naming_it_and_exit_code_2()
    {
        const string seed = "akka.tcp://forkline@127.0.0.1:notaport";

        var result = await ExternalCommand.RunAsync(GatewayProcess.Executable, ["gateway", "--port", "0", "--data", _data, "--seed", seed], Patience);

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(result.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"Cluster:Seeds '{seed}' is not an address of this cluster", line);
    }

    [Fact]
    public async Task An_api_limit_out_of_range_is_one_line_naming_the_full_key_and_exit_code_2()
    {
        var result = await ExternalCommand.RunAsync(GatewayProcess.Executable, ["gateway", "--port", "0", "--data", _data], Patience,
            environment: new Dictionary<string, string> { ["FORKLINE__API__LIMITS__QUEUED"] = "-3" });

        Assert.True(result.ExitCode == 2, result.ToString());
        var line = Assert.Single(result.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("Api:Limits:Queued '-3' is not allowed: 0 or more queries", line);
    }

    [Fact]
    public async Task Run_refuses_a_forwarder_setting_out_of_range_from_the_environment_in_one_line_and_exit_code_2()
    {
        // Settings are checked before the BPF preflight, so this needs neither root nor the BPF object (whose refusal is exit 1).
        var result = await ExternalCommand.RunAsync(GatewayProcess.Executable, ["run", "--cluster-port", "0", "--data", _data], Patience,
            environment: new Dictionary<string, string> { ["FORKLINE__FORWARDER__ACKTIMEOUT"] = "-00:00:01" });

        Assert.True(result.ExitCode == 2, result.ToString());
        Assert.Equal("", result.Output);
        var line = Assert.Single(result.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("Forwarder:AckTimeout '-00:00:01' is not allowed: a duration above 00:00:00", line);
    }
}
