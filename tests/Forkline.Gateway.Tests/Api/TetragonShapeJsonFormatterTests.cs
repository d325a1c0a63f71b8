using System.Text.Json;
using Forkline.Contracts.Snapshots;
using Forkline.Gateway.Api;
using static Forkline.Gateway.Tests.Api.SampleProcesses;

namespace Forkline.Gateway.Tests.Api;

public sealed class TetragonShapeJsonFormatterTests
{
    private readonly TetragonShapeJsonFormatter _formatter = new();

    [Fact]
    public void An_exec_is_a_process_exec_object_with_the_process_and_node()
    {
        var line = JsonDocument.Parse(_formatter.Format(Exec(SleepId, BashId, "/bin/sleep"))).RootElement;

        var process = line.GetProperty("process_exec").GetProperty("process");
        Assert.Equal(SleepId.Encode(), process.GetProperty("exec_id").GetString());
        Assert.Equal(BashId.Encode(), process.GetProperty("parent_exec_id").GetString());
        Assert.Equal("/bin/sleep", process.GetProperty("binary").GetString());
        Assert.Equal("arg1 arg2", process.GetProperty("arguments").GetString());
        Assert.Equal("execve", process.GetProperty("flags").GetString());
        Assert.Equal(Host, line.GetProperty("node_name").GetString());
        Assert.EndsWith("Z", line.GetProperty("time").GetString());
    }

    [Fact]
    public void An_exit_by_signal_names_the_signal_and_keeps_the_status()
    {
        var exit = Exit(SleepId, BashId, "/bin/sleep", status: 0);
        var killed = exit with { Process = exit.Process with { Exit = exit.Process.Exit! with { Signal = 9 } } };

        var body = JsonDocument.Parse(_formatter.Format(killed)).RootElement.GetProperty("process_exit");

        Assert.Equal("SIGKILL", body.GetProperty("signal").GetString());
        Assert.Equal(0, body.GetProperty("status").GetInt32());
    }

    [Fact]
    public void A_normal_exit_has_no_signal()
    {
        var body = JsonDocument.Parse(_formatter.Format(Exit(SleepId, BashId, "/bin/sleep", status: 3))).RootElement.GetProperty("process_exit");

        Assert.False(body.TryGetProperty("signal", out _));
        Assert.Equal(3, body.GetProperty("status").GetInt32());
    }
}
