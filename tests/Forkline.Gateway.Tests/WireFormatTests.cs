using Akka.Actor;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.Contracts.Wire;
using Forkline.Gateway.Cluster;
using Forkline.Gateway.Tests.Support;

namespace Forkline.Gateway.Tests;

public sealed class WireFormatTests
{
    private readonly SyntheticHost _host = new("node-a");

    [Fact]
    public void An_exec_with_parent_and_ancestors_comes_back_from_the_wire_unchanged()
    {
        var (_, init, bash, sh, sleep) = _host.ShellChain(10);
        var exec = _host.Exec(sleep, sh) with { Ancestors = new AncestorChain(bash, new AncestorChain(init, null)) };

        var back = Assert.IsType<EnrichedExec>(WireConverter.ToEnriched(RoundTrip(WireConverter.ToWire(exec))));

        AssertSame(exec.Process, back.Process);
        AssertSame(exec.Parent!, back.Parent!);
        Assert.Equal([bash.ExecId, init.ExecId], Chain(back.Ancestors).Select(p => p.ExecId));
        Assert.Equal((exec.Node, exec.Time, exec.Ktime), (back.Node, back.Time, back.Ktime));
    }

    [Fact]
    public void Container_identity_exec_details_and_init_tree_come_back_from_the_wire_and_their_absence_too()
    {
        var (_, _, _, sh, sleep) = _host.ShellChain(10);
        var containerized = sleep with
        {
            Container = new ContainerIdentity("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "5f0c3a6e-8b1d-4c2e-9a7f-0e1d2c3b4a59"),
            Details = new ExecDetails(0x30, new UserNamespaceOwner(2, 100000, 100001), 1, new ExecutedFile(0x89ed, 0, 0, Inode: 0x1_0000_0021, Links: 0)),
            InInitTree = true,
        };
        var procfs = sleep with { Container = new ContainerIdentity(containerized.Container.ContainerId, null), Details = new ExecDetails(0, null, 9, default) };

        AssertSame(containerized, WireConverter.ToEnriched(RoundTrip(WireConverter.ToWire(_host.Exec(containerized, sh)))).Process);
        AssertSame(procfs, WireConverter.ToEnriched(RoundTrip(WireConverter.ToWire(_host.Exec(procfs, sh)))).Process);
        AssertSame(sleep, WireConverter.ToEnriched(RoundTrip(WireConverter.ToWire(_host.Exec(sleep, sh)))).Process);
    }

    [Fact]
    public void A_pod_the_api_server_described_comes_back_from_the_wire_with_its_container_and_labels()
    {
        var (_, _, _, sh, sleep) = _host.ShellChain(10);
        const string id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        const string uid = "5f0c3a6e-8b1d-4c2e-9a7f-0e1d2c3b4a59";
        var startedAt = new DateTime(2025, 1, 31, 11, 58, 7, DateTimeKind.Utc).AddTicks(1_234_567);
        var pod = new KubernetesPod(uid, "shop", "web-1", [new("app", "web"), new("tier", "frontend")], "web", "Deployment",
            new KubernetesContainer("containerd://" + id, "web", "nginx:1.27", "nginx@sha256:6c5b", startedAt, Privileged: true,
                ExecProbes: [["sleep", "0.2"], ["/bin/check", "--ready", "a b"]]),
            Annotations: [new("prometheus.io/scrape", "true"), new("shop.example/owner", "team \"web\"\n")]);
        var described = sleep with { Container = new ContainerIdentity(id, uid, pod), Details = sleep.Details with { NamespacePid = 7 } };
        var podOnly = sleep with { Container = new ContainerIdentity(id, uid, pod with { Labels = [], Container = null, Annotations = default }) };

        var back = WireConverter.ToEnriched(RoundTrip(WireConverter.ToWire(_host.Exec(described, sh)))).Process;
        var backPodOnly = WireConverter.ToEnriched(RoundTrip(WireConverter.ToWire(_host.Exec(podOnly, sh)))).Process.Container!;

        // Field by field, so that a field the wire drops fails here by name (the records' equality would too, less plainly).
        var backPod = back.Container!.Pod!;
        Assert.Equal((id, uid), (back.Container.ContainerId, back.Container.PodUid));
        Assert.Equal((uid, "shop", "web-1", "web", "Deployment"), (backPod.Uid, backPod.Namespace, backPod.Name, backPod.Workload, backPod.WorkloadKind));
        Assert.Equal(pod.Labels, backPod.Labels.ToArray());
        Assert.Equal(pod.Annotations, backPod.Annotations.ToArray());
        var container = backPod.Container!;
        Assert.Equal(("containerd://" + id, "web", "nginx:1.27", "nginx@sha256:6c5b"), (container.RuntimeId, container.Name, container.ImageName, container.ImageId));
        Assert.Equal((startedAt, DateTimeKind.Utc, true), (container.StartedAt, container.StartedAt!.Value.Kind, container.Privileged));
        Assert.Equal([["sleep", "0.2"], ["/bin/check", "--ready", "a b"]], container.ExecProbes.Select(probe => probe.ToArray()));
        Assert.True(container.MaybeExecProbe(back.Binary, back.Arguments));
        Assert.Equal(7, back.Details.NamespacePid);
        Assert.Equal(pod, backPod);

        // Absent stays absent: no container, no labels, no annotations; not started, not privileged, no probes.
        Assert.Equal((null, 0, 0), (backPodOnly.Pod!.Container, backPodOnly.Pod.Labels.Length, backPodOnly.Pod.Annotations.Length));
        var plain = described with { Container = new ContainerIdentity(id, uid, pod with { Container = new KubernetesContainer("containerd://" + id, "web", "", "") }) };
        var plainBack = WireConverter.ToEnriched(RoundTrip(WireConverter.ToWire(_host.Exec(plain, sh)))).Process.Container!.Pod!.Container!;
        Assert.Equal((null, false, true), (plainBack.StartedAt, plainBack.Privileged, plainBack.ExecProbes.IsDefaultOrEmpty));
    }

    [Fact]
    public void An_exit_keeps_its_status_signal_and_time()
    {
        var (_, _, _, sh, sleep) = _host.ShellChain(10);
        var exit = _host.Exit(sleep, sh, status: 0, signal: 9);

        var back = Assert.IsType<EnrichedExit>(WireConverter.ToEnriched(RoundTrip(WireConverter.ToWire(exit))));

        Assert.Equal(exit.Process.Exit, back.Process.Exit);
    }

    [Fact]
    public void The_exit_of_a_process_never_known_stays_without_ids_through_the_wire_into_the_gateways_line()
    {
        var (_, _, _, _, sleep) = _host.ShellChain(10);
        const ProcessFlags nothingSeen = ProcessFlags.Incomplete | ProcessFlags.AuidUnknown | ProcessFlags.CredentialsUnknown
            | ProcessFlags.CapabilitiesUnknown | ProcessFlags.NamespacesUnknown;
        var standIn = sleep with
        {
            ParentExecId = default, Binary = "", Arguments = [], Cwd = "", Credentials = default, Capabilities = default,
            Namespaces = default, Auid = 0, Flags = nothingSeen,
        };

        var back = WireConverter.ToEnriched(RoundTrip(WireConverter.ToWire(_host.Exit(standIn, parent: null))));

        Assert.Equal(nothingSeen, back.Process.Flags);
        using var line = System.Text.Json.JsonDocument.Parse(new global::Forkline.Gateway.Api.ExportJsonFormatter().Format(back));
        var process = line.RootElement.GetProperty("process_exit").GetProperty("process");
        Assert.Equal(["exec_id", "pid", "flags", "start_time", "tid"], process.EnumerateObject().Select(field => field.Name));
    }

    [Fact]
    public void Namespaces_the_collector_marked_as_its_hosts_own_say_is_host_in_the_gateways_line()
    {
        var (_, _, _, sh, sleep) = _host.ShellChain(10);
        var pidAndNet = (ushort)(1 << (int)Export.NamespaceKind.Pid | 1 << (int)Export.NamespaceKind.Net);
        var onHost = sleep with { Namespaces = sleep.Namespaces with { HostOwned = pidAndNet } };

        var back = WireConverter.ToEnriched(RoundTrip(WireConverter.ToWire(_host.Exec(onHost, sh))));

        Assert.Equal(onHost.Namespaces, back.Process.Namespaces);
        using var line = System.Text.Json.JsonDocument.Parse(new global::Forkline.Gateway.Api.ExportJsonFormatter().Format(back));
        var ns = line.RootElement.GetProperty("process_exec").GetProperty("process").GetProperty("ns");
        var hostOwned = ns.EnumerateObject().Where(kind => kind.Value.TryGetProperty("is_host", out var isHost) && isHost.GetBoolean()).Select(kind => kind.Name);
        Assert.Equal(["pid", "net"], hostOwned);
    }

    [Fact]
    public void The_user_name_the_collector_resolved_reaches_the_gateways_line_and_no_name_stays_none()
    {
        var (_, _, _, sh, sleep) = _host.ShellChain(10);
        var named = sleep with { UserName = "alice" };

        var back = WireConverter.ToEnriched(RoundTrip(WireConverter.ToWire(_host.Exec(named, sh))));
        var unnamed = WireConverter.ToEnriched(RoundTrip(WireConverter.ToWire(_host.Exec(sleep, sh))));

        Assert.Equal("alice", back.Process.UserName);
        Assert.Null(unnamed.Process.UserName);
        using var line = System.Text.Json.JsonDocument.Parse(new global::Forkline.Gateway.Api.ExportJsonFormatter().Format(back));
        Assert.Equal("alice", line.RootElement.GetProperty("process_exec").GetProperty("process").GetProperty("user").GetProperty("name").GetString());
    }

    [Fact]
    public void A_hook_of_a_non_leader_thread_keeps_its_own_tid_and_its_thread_snapshot()
    {
        var (_, _, _, sh, sleep) = _host.ShellChain(10);
        var hook = _host.Hook(sleep, sh, tid: sleep.Pid + 1);

        var back = Assert.IsType<EnrichedHook>(WireConverter.ToEnriched(RoundTrip(WireConverter.ToWire(hook))));

        Assert.Equal(hook.Hook with { Arguments = default }, back.Hook with { Arguments = default });
        Assert.Equal(hook.Hook.Arguments[1], back.Hook.Arguments[1]);
        Assert.NotNull(back.Thread);
        Assert.Equal(sleep.Pid + 1, back.Thread!.Tid);
    }

    [Fact]
    public void Event_ids_are_stable_for_the_same_event_and_differ_between_kinds_and_threads()
    {
        var (_, _, _, sh, sleep) = _host.ShellChain(10);
        var exec = _host.Exec(sleep, sh);
        var hook = _host.Hook(sleep, sh, sleep.Pid);

        Assert.Equal(WireConverter.EventIdOf(exec), WireConverter.EventIdOf(exec with { }));
        Assert.NotEqual(WireConverter.EventIdOf(exec), WireConverter.EventIdOf(_host.Exit(sleep, sh)));
        Assert.NotEqual(WireConverter.EventIdOf(hook), WireConverter.EventIdOf(hook with { Hook = hook.Hook with { Tid = sleep.Pid + 1 } }));
    }

    [Fact]
    public void Events_sharing_a_parent_snapshot_share_its_wire_form_and_still_read_back_unchanged()
    {
        var (_, _, bash, _, _) = _host.ShellChain(10);
        var recent = new RecentProcessInfos(slots: 4);
        var children = Enumerable.Range(0, 20).Select(i => _host.NewProcess(100 + i, bash, "/bin/true")).ToList();

        var wires = children.Select(child => WireConverter.ToWire(_host.Exec(child, bash), recent)).ToList();

        Assert.All(wires, wire => Assert.Same(wires[0].Parent, wire.Parent));
        Assert.Equal(WireConverter.ToWire(bash), wires[0].Parent);
        for (var i = 0; i < children.Count; i++)
        {
            var back = WireConverter.ToEnriched(RoundTrip(wires[i]));
            AssertSame(children[i], back.Process);
            AssertSame(bash, back.Parent!);
        }
        // A hook's own process is remembered too (which slot a snapshot takes is the runtime's hash, so sharing is not asserted here).
        var hooks = Enumerable.Range(0, 3).Select(_ => WireConverter.ToWire(_host.Hook(children[0], bash, children[0].Pid), recent)).ToList();
        Assert.All(hooks, hook => Assert.Equal(WireConverter.ToWire(children[0]), hook.Process));
        // A changed snapshot is a new object, converted anew: never an older wire form.
        var renamed = bash with { Binary = "/bin/zsh" };
        Assert.Equal("/bin/zsh", WireConverter.ToWire(_host.Exec(children[0], renamed), recent).Parent.Binary);
    }

    [Fact]
    public void An_exec_handed_to_a_gateway_in_this_process_brings_its_own_snapshot_and_its_bytes_an_equal_one()
    {
        var (_, _, bash, sh, sleep) = _host.ShellChain(10);
        var exec = _host.Exec(sleep, sh) with { Ancestors = new AncestorChain(bash, null) };
        var clone = _host.Clone(sleep, sh);
        var exit = _host.Exit(sleep, sh, status: 3);

        var inProcess = WireConverter.ToWire(exec, recent: null, inProcess: true);

        Assert.Same(sleep, WireConverter.ToEnriched(inProcess).Process);
        Assert.Same(clone.Process, WireConverter.ToEnriched(WireConverter.ToWire(clone, recent: null, inProcess: true)).Process);
        var fromBytes = WireConverter.ToEnriched(RoundTrip(inProcess));
        Assert.NotSame(sleep, fromBytes.Process);
        AssertSame(sleep, fromBytes.Process);
        // Only the exec's or clone's own snapshot: an exit's, the parent's and the ancestors' are rebuilt (and not kept alive by a waiting event).
        var back = WireConverter.ToEnriched(inProcess);
        Assert.NotSame(sh, back.Parent);
        Assert.NotSame(bash, back.Ancestors!.Process);
        Assert.NotSame(exit.Process, WireConverter.ToEnriched(WireConverter.ToWire(exit, recent: null, inProcess: true)).Process);
        Assert.NotSame(sleep, WireConverter.ToEnriched(WireConverter.ToWire(exec)).Process);
    }

    [Fact]
    public void A_wire_event_without_a_process_is_a_clear_format_error()
    {
        var error = Assert.Throws<WireFormatException>(() => WireConverter.ToEnriched(new WireEvent { EventId = "x:bad", Kind = WireEventKind.Exec }));
        Assert.Contains("x:bad", error.Message);
    }

    [Fact]
    public void Akka_serializes_every_forkline_message_with_the_protobuf_serializer_and_short_manifests()
    {
        using var system = ActorSystem.Create("wire-test", BootstrapSetup.Create().And(ForklineWireSerializer.Setup()));
        var (events, _, _, _, _) = _host.ShellChain(10);
        var batch = new EventBatch { Host = "node-a", Seq = 7, ProducerId = "p" };
        foreach (var enriched in events) batch.Events.Add(WireConverter.ToWire(enriched));

        foreach (var type in ForklineWireSerializer.BoundTypes)
        {
            var message = Activator.CreateInstance(type)!;
            var serializer = Assert.IsType<ForklineWireSerializer>(system.Serialization.FindSerializerFor(message));
            Assert.InRange(serializer.Manifest(message).Length, 1, 2);
        }
        var bytes = system.Serialization.FindSerializerFor(batch).ToBinary(batch);
        Assert.Equal(batch, system.Serialization.Deserialize(bytes, ForklineWireSerializer.SerializerId, "fb"));
    }

    private static WireEvent RoundTrip(WireEvent wire) => WireEvent.Parser.ParseFrom(Google.Protobuf.MessageExtensions.ToByteArray(wire));

    private static IEnumerable<ProcessSnapshot> Chain(AncestorChain? chain)
    {
        for (; chain is not null; chain = chain.Next) yield return chain.Process;
    }

    private static void AssertSame(ProcessSnapshot expected, ProcessSnapshot actual)
    {
        Assert.Equal(expected with { Arguments = [] }, actual with { Arguments = [] });
        Assert.Equal(expected.Arguments.ToArray(), actual.Arguments.ToArray());
    }
}
