using System.Text.Json;
using Forkline.Gateway.Tests.Support;

namespace Forkline.Cluster.Tests;

/// <summary>A node's log lines go to stderr, for people by default and as JSON lines with --log-format json.</summary>
public sealed class NodeLogFormatTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task With_log_format_json_a_bad_setting_is_one_json_line_on_stderr_naming_the_value_and_stdout_stays_empty()
    {
        var result = await ExternalCommand.RunAsync(GatewayProcess.Executable, ["gateway", "--port", "99999", "--log-format", "json"], Patience);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("", result.Output);
        var line = Assert.Single(result.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        using var entry = JsonDocument.Parse(line);
        Assert.Equal("Error", entry.RootElement.GetProperty("LogLevel").GetString());
        Assert.Equal("forkline.gateway", entry.RootElement.GetProperty("Category").GetString());
        Assert.Contains("99999", entry.RootElement.GetProperty("Message").GetString());
    }

    [Fact]
    public async Task By_default_a_bad_setting_is_one_console_line_on_stderr()
    {
        var result = await ExternalCommand.RunAsync(GatewayProcess.Executable, ["gateway", "--port", "99999"], Patience);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("", result.Output);
        var line = Assert.Single(result.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Matches(@"^\d\d:\d\d:\d\d\.\d{3} fail: forkline\.gateway\[0\] .*99999", line);
    }
}
