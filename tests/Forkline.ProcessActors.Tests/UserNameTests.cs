using System.Buffers;
using System.Text;
using System.Text.Json;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.Export;
using Xunit.Abstractions;
using static Forkline.ProcessActors.Tests.KernelEvents;

namespace Forkline.ProcessActors.Tests;

/// <summary>Tetragon's user.name (--username-metadata=unix): the host's name of the effective uid, for the host's own namespaces only.</summary>
public sealed class UserNameTests(ITestOutputHelper output) : PipelineTestKit(output)
{
    private static readonly Namespaces HostInodes = new(4026531838, 4026531839, 4026531841, 4026531836, 4026531836, 4026531840, 4026531834, 4026531834, 4026531835, 4026531837);
    private static readonly Namespaces OnHost = NamespaceKinds.MarkHost(HostInodes, HostInodes);
    private static readonly Namespaces InOwnUserNamespace = NamespaceKinds.MarkHost(HostInodes with { User = 4026532700 }, HostInodes);
    private static readonly Namespaces InContainer = NamespaceKinds.MarkHost(HostInodes with { Mnt = 4026532800 }, HostInodes);

    private static readonly ProcessKey Shell = Key(100, 1_000);
    private static readonly ProcessKey Sudo = Key(200, 2_000);
    private static readonly ProcessKey Rootless = Key(300, 3_000);
    private static readonly ProcessKey Containerized = Key(400, 4_000);
    private static readonly ProcessKey Stranger = Key(500, 5_000);
    private static readonly ProcessKey Forked = Key(210, 2_100);

    private static string? Passwd(uint uid) => uid switch
    {
        0 => "root",
        1000 => "alice",
        1002 => "svc\"x", // a quote, as a hostile /etc/passwd could hold
        _ => null,
    };

    private static ProcessActorSettings Named => TestSettings with { UserNames = Passwd, EmitClones = true };

    [Fact]
    public async Task A_process_in_the_hosts_namespaces_is_named_by_its_effective_uid_and_others_are_not()
    {
        await using var pipeline = StartPipeline(Named);

        await FeedAndFlush(pipeline,
            On(Exec(Shell, ProcessKey.None, "/bin/bash"), OnHost),
            // Real uid 1000, effective 1002: Tetragon's uid, and its name, are the effective one's.
            On(Exec(Sudo, Shell, "/usr/bin/task", credentials: new Credentials(1000, 1000, 1002, 1000, 1002, 1000, 1002, 1000)), OnHost),
            On(Exec(Rootless, Shell, "/usr/bin/podman"), InOwnUserNamespace),
            On(Exec(Containerized, Shell, "/usr/bin/nginx"), InContainer),
            On(Exec(Stranger, Shell, "/usr/bin/orphan", credentials: User(4242)), OnHost));

        var names = Sink.Of<EnrichedExec>().ToDictionary(exec => exec.Process.Binary, exec => exec.Process.UserName);
        Assert.Equal("alice", names["/bin/bash"]);
        Assert.Equal("svc\"x", names["/usr/bin/task"]);
        Assert.Null(names["/usr/bin/podman"]);
        Assert.Null(names["/usr/bin/nginx"]);
        Assert.Null(names["/usr/bin/orphan"]);
        var task = Json(Sink.Of<EnrichedExec>().Single(exec => exec.Process.Pid == Sudo.Pid), out var line);
        Assert.Equal("svc\"x", task.GetProperty("user").GetProperty("name").GetString());
        Assert.Contains("\"user\":{\"name\":\"svc\\\"x\"}", line, StringComparison.Ordinal);
        Assert.False(Json(Sink.Of<EnrichedExec>().Single(exec => exec.Process.Pid == Rootless.Pid), out _).TryGetProperty("user", out _));
    }

    [Fact]
    public async Task Without_names_asked_for_no_process_carries_one()
    {
        await using var pipeline = StartPipeline(TestSettings);

        await FeedAndFlush(pipeline, On(Exec(Shell, ProcessKey.None, "/bin/bash"), OnHost));

        var exec = Sink.Single<EnrichedExec>();
        Assert.Null(exec.Process.UserName);
        Assert.False(Json(exec, out _).TryGetProperty("user", out _));
    }

    [Fact]
    public async Task A_fork_is_named_by_its_own_uid_and_a_credential_change_renames_the_process()
    {
        await using var pipeline = StartPipeline(Named);

        await FeedAndFlush(pipeline,
            On(Exec(Shell, ProcessKey.None, "/bin/bash"), OnHost),
            Clone(Forked, Shell, credentials: User(0)),
            Hook(Shell, 1_500, hook: Setuid, credentials: User(1002)),
            Hook(Shell, 1_600));

        Assert.Equal("root", Assert.Single(Sink.Of<EnrichedClone>()).Process.UserName);
        var hooks = Sink.Of<EnrichedHook>();
        Assert.Equal("svc\"x", hooks[^1].Process.UserName);
    }

    private static ExecEvent On(ExecEvent exec, Namespaces namespaces) => exec with { Namespaces = namespaces };

    private static JsonElement Json(EnrichedEvent enriched, out string line)
    {
        var buffer = new ArrayBufferWriter<byte>();
        new TetragonJsonFormatter().Format(enriched, buffer);
        line = Encoding.UTF8.GetString(buffer.WrittenSpan);
        var property = enriched is EnrichedExec ? "process_exec" : "process_kprobe";
        return JsonDocument.Parse(line).RootElement.GetProperty(property).GetProperty("process");
    }
}
