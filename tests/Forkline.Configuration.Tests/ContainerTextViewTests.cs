using Forkline.Client;
using Forkline.Contracts.Api;
using Google.Protobuf.WellKnownTypes;

namespace Forkline.Configuration.Tests;

/// <summary>
/// Where a process runs, as `ps`, `tree`, `lineage` and `events` show it: its container and, when the API
/// server described it, its pod. Pod, namespace and container names come from whoever can create pods (or
/// answer as the API server), so they are escaped like any name of a traced process.
/// </summary>
public sealed class ContainerTextViewTests
{
    private const string ContainerId = "3f1c9a7e5b2d4c6e8a0b1d3f5e7c9a1b3d5f7e9c1a3b5d7f9e1c3a5b7d9f1e3a";
    private const string PodUid = "5f0c3a6e-8b1d-4c2e-9a7f-0e1d2c3b4a59";
    private const string ClearScreenAndSetTitle = "\u001b[2J\u001b]0;owned\u0007";

    private static Process Process(string execId, string parent, int pid, string binary, int second) => new()
    {
        ExecId = execId,
        ParentExecId = parent,
        Host = "node-a",
        Pid = pid,
        Uid = 0,
        Binary = binary,
        Live = true,
        StartTime = Timestamp.FromDateTime(new DateTime(2026, 1, 1, 12, 0, second, DateTimeKind.Utc)),
    };

    private static Process InPod(Process process, string podNamespace = "shop", string podName = "web-1", string containerName = "server", string containerId = ContainerId)
    {
        var inPod = process.Clone();
        inPod.ContainerId = containerId;
        inPod.PodUid = PodUid;
        inPod.PodNamespace = podNamespace;
        inPod.PodName = podName;
        inPod.ContainerName = containerName;
        return inPod;
    }

    private static Process InContainer(Process process)
    {
        var contained = process.Clone();
        contained.ContainerId = ContainerId;
        return contained;
    }

    private static readonly Process Shim = Process("c2hpbQ==", "", 500, "/usr/bin/containerd-shim-runc-v2", 0);
    private static readonly Process Server = InPod(Process("c2VydmVy", "c2hpbQ==", 501, "/app/server", 1));
    private static readonly Process Worker = InPod(Process("d29ya2Vy", "c2VydmVy", 502, "/app/worker", 2));
    private static readonly Process Docker = InContainer(Process("ZG9ja2Vy", "", 600, "/usr/sbin/nginx", 3));

    [Fact]
    public void Ps_shows_the_pod_and_container_after_the_command_and_nothing_for_a_process_outside_containers()
    {
        var output = new StringWriter { NewLine = "\n" };
        var response = new ListProcessesResponse { Processes = { Docker, Worker, Server, Shim } };

        ProcessTableText.Write(output, "node-a", response);

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, lines.Length);
        Assert.EndsWith("c2hpbQ== /usr/bin/containerd-shim-runc-v2", lines[1]);
        Assert.EndsWith("c2VydmVy /app/server  [pod shop/web-1 container server 3f1c9a7e5b2d]", lines[2]);
        Assert.EndsWith("d29ya2Vy /app/worker  [pod shop/web-1 container server 3f1c9a7e5b2d]", lines[3]);
        Assert.EndsWith("ZG9ja2Vy /usr/sbin/nginx  [container 3f1c9a7e5b2d]", lines[4]);
    }

    [Fact]
    public void Tree_and_lineage_show_the_pod_on_each_containerized_process()
    {
        var tree = new StringWriter { NewLine = "\n" };
        ProcessTreeText.Write(tree, [Shim, Server, Worker]);
        Assert.Equal(
            "500 /usr/bin/containerd-shim-runc-v2  c2hpbQ==\n" +
            "└─ 501 /app/server  [pod shop/web-1 container server 3f1c9a7e5b2d]  c2VydmVy\n" +
            "   └─ 502 /app/worker  [pod shop/web-1 container server 3f1c9a7e5b2d]  d29ya2Vy\n",
            tree.ToString());

        var ended = Server.Clone();
        ended.Live = false;
        ended.End = ProcessEnd.Exited;
        ended.ExitStatus = 1;
        var lineage = new StringWriter { NewLine = "\n" };
        ProcessTreeText.Write(lineage, [Shim, ended, Worker], marked: ended.ExecId);
        Assert.Equal(
            "└─ 501 /app/server  [pod shop/web-1 container server 3f1c9a7e5b2d]  [exited 1]  ◀  c2VydmVy",
            lineage.ToString().Split('\n')[1]);
    }

    [Fact]
    public void A_pod_the_API_server_described_without_naming_the_container_yet_shows_the_pod_and_the_id()
    {
        var early = InPod(Process("ZWFybHk=", "", 700, "/pause", 0), containerName: "");

        Assert.Equal("/pause  [pod shop/web-1 container 3f1c9a7e5b2d]", ProcessText.Command(early));
    }

    [Fact]
    public void Hostile_pod_namespace_and_container_names_are_escaped_and_keep_the_process_on_one_line()
    {
        var hostile = InPod(Process("aG9zdGlsZQ==", "", 800, "/app/server", 0),
            podNamespace: $"shop\n    801 /sbin/init{ClearScreenAndSetTitle}",
            podName: "web-1\r\u202egnp.exe",
            containerName: "server\u001b[31m\\x41",
            containerId: "\u001b[2J\u0007" + ContainerId);
        var received = new Event { Kind = EventKind.Exec, Host = "node-a", Process = hostile, ExecId = hostile.ExecId, Time = hostile.StartTime };

        var command = ProcessText.Command(hostile);
        var table = new StringWriter { NewLine = "\n" };
        ProcessTableText.Write(table, "node-a", new ListProcessesResponse { Processes = { hostile } });
        var tree = new StringWriter { NewLine = "\n" };
        ProcessTreeText.Write(tree, [hostile]);

        Assert.Equal(
            "/app/server  [pod shop\\n    801 /sbin/init\\x1b[2J\\x1b]0;owned\\x07/web-1\\r\\u202egnp.exe container server\\x1b[31m\\\\x41 \\x1b[2J\\x073f1c9a7]",
            command);
        foreach (var text in new[] { ProcessText.Event(received), table.ToString().Split('\n')[1], tree.ToString().TrimEnd('\n') })
        {
            Assert.DoesNotContain(text, char.IsControl);
            Assert.DoesNotContain('\u202e', text);
            Assert.Contains(command, text);
        }
    }
}
