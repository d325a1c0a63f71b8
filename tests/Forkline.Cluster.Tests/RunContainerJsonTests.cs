using System.Diagnostics;
using System.Text.Json;
using Forkline.Gateway.Tests.Support;
using Forkline.Kernel.Tests;
using Xunit.Abstractions;

namespace Forkline.Cluster.Tests;

/// <summary>
/// The real binary: `forkline run --json` shows the container id of a process started in a cgroup named
/// as Docker names its containers' (Tetragon's "docker", the id's first 31 digits), and no container for
/// a process outside; `--container` keeps the container's processes only.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class RunContainerJsonTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);
    private readonly string _data = Directory.CreateTempSubdirectory("forkline-run-container-").FullName;
    private readonly string _node = $"docker-{Guid.NewGuid():N}"[..20];
    private readonly string _containerId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
    private readonly TestCgroups _cgroups = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync()
    {
        _cgroups.Dispose();
        Directory.Delete(_data, recursive: true);
        return Task.CompletedTask;
    }

    [KernelFact]
    public async Task Run_json_shows_the_docker_container_of_a_process_in_a_docker_named_cgroup_and_none_outside()
    {
        if (DockerCgroupParent() is not { } parent)
        {
            output.WriteLine("skipped: neither a cgroup v2 hierarchy nor the v1 memory controller is mounted under /sys/fs/cgroup");
            return;
        }
        var cgroup = _cgroups.Create(parent, $"system.slice/docker-{_containerId}.scope");
        await using var all = StartRun("all");
        await using var filtered = StartRun("filtered", "--container", _containerId[..12]);
        await all.WaitForErrorLineAsync(EventStreamPurityTests.ApiAddresses(), Patience);
        await filtered.WaitForErrorLineAsync(EventStreamPurityTests.ApiAddresses(), Patience);

        // The collectors attach after their start line: processes run until both have shown one of each.
        var inside = new List<int>();
        var outside = new List<int>();
        var deadline = Stopwatch.StartNew();
        while (!(Execs(all, inside).Count > 0 && Execs(all, outside).Count > 0 && Execs(filtered, inside).Count > 0))
        {
            if (deadline.Elapsed > Patience)
                throw new TimeoutException($"no process_exec of the test's processes within {Patience.TotalSeconds} s; run stderr:\n{all.ErrorText}");
            inside.Add(await RunBashIn(cgroup));
            outside.Add(await RunBashIn(cgroup: null));
            await Task.Delay(200);
        }
        await all.InterruptAsync(Patience);
        await filtered.InterruptAsync(Patience);

        foreach (var process in Execs(all, inside))
        {
            Assert.Equal(_containerId[..31], process.GetProperty("docker").GetString());
            // Docker outside Kubernetes: no pod.
            Assert.False(process.TryGetProperty("pod", out _), $"a process of a Docker container has a pod: {process}");
        }
        foreach (var process in Execs(all, outside)) Assert.False(process.TryGetProperty("docker", out _), $"a process outside containers has one: {process}");
        Assert.Empty(Execs(filtered, outside));
        Assert.All(LinesOf(filtered).Where(IsProcessEvent), line => Assert.Equal(_containerId[..31], ProcessOf(line).GetProperty("docker").GetString()));
    }

    private OutputProcess StartRun(string name, params string[] filter) =>
        OutputProcess.Start(GatewayProcess.Executable,
        [
            "run", "--json", "--data", Path.Combine(_data, name), "--node", _node + name, "--cluster-port", "0",
            "--api-http", "127.0.0.1:0", "--api-grpc", "127.0.0.1:0", .. filter,
        ]);

    /// <summary>The process object of each process_exec line of /bin/bash with one of <paramref name="pids"/>.</summary>
    private static List<JsonElement> Execs(OutputProcess run, List<int> pids) =>
        LinesOf(run)
            .Where(line => line.TryGetProperty("process_exec", out _))
            .Select(ProcessOf)
            .Where(process => pids.Contains(process.GetProperty("pid").GetInt32()) && process.GetProperty("binary").GetString() == "/bin/bash")
            .ToList();

    private static List<JsonElement> LinesOf(OutputProcess run) =>
        run.OutputLines.Select(line =>
        {
            using var document = JsonDocument.Parse(line);
            return document.RootElement.Clone();
        }).ToList();

    private static bool IsProcessEvent(JsonElement line) => line.EnumerateObject().Any(p => p.Name.StartsWith("process_", StringComparison.Ordinal));

    private static JsonElement ProcessOf(JsonElement line) => line.EnumerateObject().First(p => p.Name.StartsWith("process_", StringComparison.Ordinal)).Value.GetProperty("process");

    /// <summary>
    /// Where Docker's cgroups are made: the v2 hierarchy (the hybrid layout's unified mount, or /sys/fs/cgroup
    /// itself), else the v1 memory controller; the BPF side reads the names in both.
    /// </summary>
    private static string? DockerCgroupParent()
    {
        foreach (var candidate in (string[])["/sys/fs/cgroup/unified", "/sys/fs/cgroup"])
            if (File.Exists(Path.Combine(candidate, "cgroup.controllers"))) return candidate;
        return Directory.Exists("/sys/fs/cgroup/memory") ? "/sys/fs/cgroup/memory" : null;
    }

    /// <summary>A shell moves itself into <paramref name="cgroup"/> (null: stays where it is) and execs bash there; the pid, once it has exited.</summary>
    private static async Task<int> RunBashIn(string? cgroup)
    {
        var move = cgroup is null ? "" : $"echo $$ > '{cgroup}/cgroup.procs' && ";
        using var shell = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", move + "exec /bin/bash -c 'exit 3'"]) { RedirectStandardError = true })!;
        var errors = await shell.StandardError.ReadToEndAsync();
        await shell.WaitForExitAsync();
        Assert.True(shell.ExitCode == 3, $"the shell in {cgroup ?? "its own cgroup"} ended {shell.ExitCode}: {errors}");
        return shell.Id;
    }
}
