using System.Buffers;
using System.Text;
using System.Text.Json;
using Akka.Actor;
using Forkline.Collector.Hooks;
using Forkline.Contracts.Snapshots;
using Forkline.Export;
using Forkline.Kernel.Tests.Pipeline;
using Xunit.Abstractions;

namespace Forkline.Kernel.Tests;

/// <summary>
/// A real process whose binary and arguments carry a newline that forges an event line, a screen clear,
/// a terminal title sequence and bytes that are not UTF-8, from the kernel to the compact and JSON lines.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class HostileNamesTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Node = "kernel-hostile-test";

    // bash makes the names: a .NET string would be written as UTF-8 and could not hold the byte 0xff.
    private const string Script = """
        name="$(printf '%s/x\n15:00:00.000 exec   pid=1 \033[2J\033]0;owned\007\377' "$1")"
        cp /bin/true "$name" && "$name" '' 'a b' "$(printf 'x\n15:00:00.000 exec   pid=1 /bin/fake')" "$(printf '\377\033[31m')" 'say "hi"'
        """;

    private readonly ActorSystem _system = ActorSystem.Create("kernel-hostile", "akka.loglevel = WARNING");
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("forkline-hostile-");

    [KernelFact]
    public async Task A_hostile_process_prints_as_one_escaped_compact_line_and_JSON_that_keeps_every_argument_apart()
    {
        await using var pipeline = await KernelPipeline.StartAsync(_system, Node, output.WriteLine, HookPolicy.CredentialsOnly);
        using var shell = Workloads.Start("/bin/bash", "-c", Script, "bash", _folder.FullName);
        await Workloads.RunToExitAsync(shell, expectedExitCode: 0);
        var binary = $"{_folder.FullName}/x\n15:00:00.000 exec   pid=1 \u001b[2J\u001b]0;owned\u0007\\xff";
        var exec = await pipeline.Events.WaitFor<EnrichedExec>(e => e.Process.Binary == binary, "exec of the hostile binary", KernelPipeline.EventTimeout);
        await pipeline.StopAsync();

        Assert.Equal<string>([binary, "", "a b", "x\n15:00:00.000 exec   pid=1 /bin/fake", "\\xff\u001b[31m", "say \"hi\""], exec.Process.Arguments);

        var compact = Format(new CompactFormatter(), exec);
        output.WriteLine(compact);
        Assert.Single(compact.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain(compact.TrimEnd('\n'), char.IsControl);
        Assert.EndsWith(
            $" exec   pid={exec.Process.Pid} \"{_folder.FullName}/x\\n15:00:00.000 exec   pid=1 \\x1b[2J\\x1b]0;owned\\x07\\\\xff\"" +
            " \"\" \"a b\" \"x\\n15:00:00.000 exec   pid=1 /bin/fake\" \"\\\\xff\\x1b[31m\" \"say \\\"hi\\\"\"\n", compact);

        var json = Format(new TetragonJsonFormatter(), exec);
        Assert.Single(json.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var process = JsonDocument.Parse(json).RootElement.GetProperty("process_exec").GetProperty("process");
        Assert.Equal(binary, process.GetProperty("binary").GetString());
        Assert.Equal("\"\" \"a b\" \"x\\n15:00:00.000 exec   pid=1 /bin/fake\" \"\\\\xff\\x1b[31m\" \"say \\\"hi\\\"\"", process.GetProperty("arguments").GetString());
    }

    private static string Format(IEventFormatter formatter, EnrichedEvent enriched)
    {
        var buffer = new ArrayBufferWriter<byte>();
        formatter.Format(enriched, buffer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _system.Terminate();
        // .NET lists the 0xff name as U+FFFD and cannot delete it by that name; rm works on the bytes.
        using var remove = Workloads.Start("/bin/rm", "-rf", _folder.FullName);
        await Workloads.RunToExitAsync(remove, expectedExitCode: 0);
    }
}
