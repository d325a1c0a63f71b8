using System.Buffers;
using System.Globalization;
using System.Text.Json;
using Akka.Actor;
using Forkline.Collector.Hooks;
using Forkline.Contracts.Snapshots;
using Forkline.Export;
using Forkline.Kernel.Tests.Pipeline;
using Xunit.Abstractions;

namespace Forkline.Kernel.Tests;

/// <summary>
/// Tetragon's binary_properties.file on the real kernel: an exec of a file linked in no file system (a memfd
/// run with fexecve, a binary deleted while open) carries the inode's number and links 0; an exec of an
/// ordinary file carries no binary_properties.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class BinaryPropertiesTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Node = "kernel-binary-properties-test";

    // The open descriptor keeps the inode alive after rm; exec through /proc runs it with no link left.
    private const string DeletedBinaryScript = """
        cp /bin/true "$1/deleted-true" && stat -c %i "$1/deleted-true" && exec 3<"$1/deleted-true" && rm "$1/deleted-true" && exec /proc/self/fd/3
        """;

    private readonly ActorSystem _system = ActorSystem.Create("kernel-binary-properties", "akka.loglevel = WARNING");
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("forkline-binary-properties-");

    [KernelFact]
    public async Task An_exec_of_a_memfd_or_deleted_binary_has_binary_properties_file_with_its_inode_and_links_0_and_a_normal_exec_has_none()
    {
        var workload = Workloads.Path("exec_memfd");
        await using var pipeline = await KernelPipeline.StartAsync(_system, Node, output.WriteLine, HookPolicy.CredentialsOnly);

        using var memfd = Workloads.Start(workload, "/bin/true");
        var memfdInode = ulong.Parse((await Workloads.RunToExitAsync(memfd, expectedExitCode: 0)).Split(' ')[0], CultureInfo.InvariantCulture);
        using var deleted = Workloads.Start("/bin/bash", "-c", DeletedBinaryScript, "bash", _folder.FullName);
        var deletedInode = ulong.Parse(await Workloads.RunToExitAsync(deleted, expectedExitCode: 0), CultureInfo.InvariantCulture);

        var normalExec = await pipeline.Events.WaitFor<EnrichedExec>(
            e => e.Process.Pid == memfd.Id && e.Process.Binary == workload, "exec of the memfd workload itself", KernelPipeline.EventTimeout);
        var memfdExec = await pipeline.Events.WaitFor<EnrichedExec>(
            e => e.Process.Pid == memfd.Id && e.Process.Binary.StartsWith("/dev/fd/", StringComparison.Ordinal), "fexecve of the memfd", KernelPipeline.EventTimeout);
        var deletedExec = await pipeline.Events.WaitFor<EnrichedExec>(
            e => e.Process.Pid == deleted.Id && e.Process.Binary == "/proc/self/fd/3", "exec of the deleted binary", KernelPipeline.EventTimeout);
        await pipeline.StopAsync();

        AssertUnlinkedFile(memfdExec, memfdInode);
        AssertUnlinkedFile(deletedExec, deletedInode);
        var normal = Process(normalExec);
        Assert.False(normal.TryGetProperty("binary_properties", out _), normal.ToString());
        Assert.NotEqual(0u, normalExec.Process.Details.File.Links);
    }

    private void AssertUnlinkedFile(EnrichedExec exec, ulong inode)
    {
        var process = Process(exec);
        output.WriteLine(process.ToString());
        var file = process.GetProperty("binary_properties").GetProperty("file");
        Assert.Equal(inode.ToString(CultureInfo.InvariantCulture), file.GetProperty("inode").GetProperty("number").GetString());
        Assert.Equal(0u, file.GetProperty("inode").GetProperty("links").GetUInt32());
    }

    private static JsonElement Process(EnrichedExec exec)
    {
        var buffer = new ArrayBufferWriter<byte>();
        new TetragonJsonFormatter().Format(exec, buffer);
        return JsonDocument.Parse(buffer.WrittenMemory).RootElement.GetProperty("process_exec").GetProperty("process").Clone();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _system.Terminate();
        _folder.Delete(recursive: true);
    }
}
