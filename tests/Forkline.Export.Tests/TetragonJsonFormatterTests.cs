using System.Buffers;
using System.Text.Json;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;
using Forkline.Export;
using static Forkline.Export.Tests.ExportAssert;
using static Forkline.Export.Tests.SampleEvents;

namespace Forkline.Export.Tests;

public sealed class TetragonJsonFormatterTests
{
    [Fact]
    public void Exec_is_one_line_with_tetragon_envelope_process_exec_node_name_and_time()
    {
        var root = Json(Exec());

        Assert.Equal(["process_exec", "node_name", "time"], PropertyNames(root));
        Assert.Equal(Node, root.GetProperty("node_name").GetString());
        Assert.Equal("2024-05-01T12:00:01.250Z", root.GetProperty("time").GetString());
        Assert.Equal(["process", "parent", "ancestors"], PropertyNames(root.GetProperty("process_exec")));
    }

    [Fact]
    public void Exec_process_object_carries_every_tetragon_field_in_proto_order()
    {
        var process = Json(Exec()).GetProperty("process_exec").GetProperty("process");

        Assert.Equal(
            ["exec_id", "pid", "uid", "cwd", "binary", "arguments", "flags", "start_time", "auid", "parent_exec_id", "cap", "ns", "tid", "process_credentials"],
            PropertyNames(process));
        Assert.Equal(Sleep.ExecId, ExecId.Decode(process.GetProperty("exec_id").GetString()!));
        Assert.Equal(Sleep.ExecId.Encode(), process.GetProperty("exec_id").GetString());
        Assert.Equal(Sh.ExecId, ExecId.Decode(process.GetProperty("parent_exec_id").GetString()!));
        Assert.Equal(300, process.GetProperty("pid").GetInt32());
        Assert.Equal(300, process.GetProperty("tid").GetInt32());
        Assert.Equal(1002u, process.GetProperty("uid").GetUInt32()); // Tetragon's uid is the euid
        Assert.Equal(1000u, process.GetProperty("auid").GetUInt32());
        Assert.Equal("/home/user", process.GetProperty("cwd").GetString());
        Assert.Equal("/usr/bin/sleep", process.GetProperty("binary").GetString());
        Assert.Equal("0.2", process.GetProperty("arguments").GetString());
        Assert.Equal("execve clone", process.GetProperty("flags").GetString());
        Assert.Equal("2024-05-01T12:00:00.123456700Z", process.GetProperty("start_time").GetString());
    }

    [Fact]
    public void Capabilities_are_tetragon_enum_names_and_an_empty_set_is_left_out()
    {
        var cap = Json(Exec()).GetProperty("process_exec").GetProperty("process").GetProperty("cap");

        Assert.Equal(["CAP_CHOWN", "DAC_OVERRIDE", "CAP_KILL", "CAP_SYS_ADMIN", "CAP_BPF"], Strings(cap.GetProperty("permitted")));
        Assert.Equal(["CAP_SYS_ADMIN"], Strings(cap.GetProperty("effective")));
        Assert.False(cap.TryGetProperty("inheritable", out _));
    }

    [Fact]
    public void One_formatter_writes_every_capability_set_as_a_fresh_one_does_whatever_sets_came_before()
    {
        // More distinct sets than the formatter keeps rendered, in an order that evicts and meets them again.
        var random = new Random(10);
        var masks = Enumerable.Range(0, 11).Select(_ => (ulong)random.NextInt64() | 1UL << 63).Append(0x1_ffff_ffffUL).ToArray();
        var formatter = new TetragonJsonFormatter();
        for (var i = 0; i < 60; i++)
        {
            var process = Sleep with
            {
                Capabilities = new Capabilities(Permitted: masks[i % masks.Length], Effective: masks[i * 7 % masks.Length], Inheritable: masks[i * i % masks.Length]),
            };

            Assert.Equal(Line(new TetragonJsonFormatter(), Exec(process)), Line(formatter, Exec(process)));
        }
    }

    [Fact]
    public void Capability_bits_past_the_last_named_one_are_written_as_numbers()
    {
        var process = Sleep with { Capabilities = new Capabilities(Permitted: 1UL << 40 | 1UL << 41, Effective: 0, Inheritable: 0) };

        var permitted = Json(Exec(process)).GetProperty("process_exec").GetProperty("process").GetProperty("cap").GetProperty("permitted");

        Assert.Equal("CAP_CHECKPOINT_RESTORE", permitted[0].GetString());
        Assert.Equal(41, permitted[1].GetInt32());
    }

    [Fact]
    public void Namespaces_carry_inum_and_is_host_only_for_the_hosts_own()
    {
        var process = Sleep with { Namespaces = OnThisHost(InitInodes with { Mnt = 4026532500, Time = 0 }) };

        var ns = Json(Exec(process)).GetProperty("process_exec").GetProperty("process").GetProperty("ns");

        Assert.Equal(["uts", "ipc", "mnt", "pid", "pid_for_children", "net", "time_for_children", "cgroup", "user"], PropertyNames(ns));
        Assert.Equal(4026532500u, ns.GetProperty("mnt").GetProperty("inum").GetUInt32());
        Assert.False(ns.GetProperty("mnt").TryGetProperty("is_host", out _));
        Assert.Equal(4026531836u, ns.GetProperty("pid").GetProperty("inum").GetUInt32());
        Assert.True(ns.GetProperty("pid").GetProperty("is_host").GetBoolean());
        Assert.True(ns.GetProperty("net").GetProperty("is_host").GetBoolean());
    }

    [Fact]
    public void Namespaces_the_collector_did_not_mark_as_the_hosts_leave_is_host_out()
    {
        var unmarked = new EnrichedExec(Node, EventTime, 3_000, Sleep with { Namespaces = InitInodes }, Parent: null, Ancestors: null);

        var line = Line(new TetragonJsonFormatter(), unmarked);

        Assert.DoesNotContain("is_host", line);
        Assert.Contains("\"uts\":{\"inum\":4026531838}", line);
    }

    [Fact]
    public void Process_credentials_carry_all_eight_ids_the_capabilities_and_the_user_namespace()
    {
        var credentials = Json(Exec()).GetProperty("process_exec").GetProperty("process").GetProperty("process_credentials");

        Assert.Equal(["uid", "gid", "euid", "egid", "suid", "sgid", "fsuid", "fsgid", "caps", "user_ns"], PropertyNames(credentials));
        Assert.Equal([1000u, 1001u, 1002u, 1003u, 1004u, 1005u, 1006u, 1007u], EightIds(credentials));
        Assert.Equal(["CAP_SYS_ADMIN"], Strings(credentials.GetProperty("caps").GetProperty("effective")));
        Assert.Equal(4026531837u, credentials.GetProperty("user_ns").GetProperty("ns").GetProperty("inum").GetUInt32());
    }

    [Fact]
    public void Securebits_and_the_user_namespace_owner_from_the_exec_are_tetragon_names_and_numbers()
    {
        var process = Sleep with
        {
            Details = new ExecDetails(SecureBits: 1 << 4 | 1 << 5 | 1 << 9, new UserNamespaceOwner(Level: 2, Uid: 1000, Gid: 1001), NamespacePid: 7, File: default),
        };

        var credentials = Json(Exec(process)).GetProperty("process_exec").GetProperty("process").GetProperty("process_credentials");

        Assert.Equal("SecBitKeepCaps", credentials.GetProperty("securebits")[0].GetString());
        Assert.Equal("SecBitKeepCapsLocked", credentials.GetProperty("securebits")[1].GetString());
        Assert.Equal(512, credentials.GetProperty("securebits")[2].GetInt32());
        var userNamespace = credentials.GetProperty("user_ns");
        Assert.Equal(["level", "uid", "gid", "ns"], PropertyNames(userNamespace));
        Assert.Equal(2, userNamespace.GetProperty("level").GetInt32());
        Assert.Equal(1000u, userNamespace.GetProperty("uid").GetUInt32());
        Assert.Equal(1001u, userNamespace.GetProperty("gid").GetUInt32());
    }

    [Fact]
    public void A_set_user_id_root_exec_has_binary_properties_on_process_exec_only()
    {
        var raised = new Credentials(Uid: 1000, Gid: 1000, Euid: 0, Egid: 1000, Suid: 0, Sgid: 1000, Fsuid: 0, Fsgid: 1000);
        var process = Sleep with
        {
            Credentials = raised,
            Details = new ExecDetails(0, null, 0, new ExecutedFile(Mode: 0x8000 | 0x800 | 0x1ed, Uid: 0, Gid: 0, Inode: 4711, Links: 1)),
        };

        var exec = Json(Exec(process)).GetProperty("process_exec").GetProperty("process");
        var properties = exec.GetProperty("binary_properties");

        Assert.Equal(["setuid", "privileges_changed"], PropertyNames(properties));
        Assert.Equal(0u, properties.GetProperty("setuid").GetUInt32());
        Assert.Equal(["PRIVILEGES_RAISED_EXEC_FILE_SETUID"], Strings(properties.GetProperty("privileges_changed")));
        var exit = new EnrichedExit(Node, EventTime, 4_000, process with { Exit = new ProcessExit(0, 0, 4_000, EventTime, 300) }, Sh, null);
        Assert.False(Json(exit).GetProperty("process_exit").GetProperty("process").TryGetProperty("binary_properties", out _));
    }

    [Fact]
    public void An_exec_of_a_set_user_id_file_that_changed_nothing_has_no_binary_properties()
    {
        var process = Sleep with { Details = new ExecDetails(0, null, 0, new ExecutedFile(Mode: 0x8000 | 0x800 | 0x1ed, Uid: 0, Gid: 0, Inode: 4711, Links: 1)) };

        var exec = Json(Exec(process)).GetProperty("process_exec").GetProperty("process");

        Assert.False(exec.TryGetProperty("binary_properties", out _));
    }

    [Fact]
    public void An_exec_of_a_file_linked_nowhere_has_binary_properties_file_with_its_inode_and_links_0()
    {
        // fexecve of a memfd: the kernel's inode has no hard link; the inode number exceeds 32 bits to
        // show it is written whole, as a string (protojson's uint64).
        var process = Sleep with { Details = new ExecDetails(0, null, 0, new ExecutedFile(Mode: 0x8000 | 0x1ed, Uid: 1000, Gid: 1000, Inode: 0x1_0000_0007, Links: 0)) };

        var properties = Json(Exec(process)).GetProperty("process_exec").GetProperty("process").GetProperty("binary_properties");

        Assert.Equal(["file"], PropertyNames(properties));
        var inode = properties.GetProperty("file").GetProperty("inode");
        Assert.Equal(["inode"], PropertyNames(properties.GetProperty("file")));
        Assert.Equal(["number", "links"], PropertyNames(inode));
        Assert.Equal("4294967303", inode.GetProperty("number").GetString());
        Assert.Equal(0u, inode.GetProperty("links").GetUInt32());
    }

    [Fact]
    public void An_exec_of_a_linked_file_or_of_an_unknown_inode_has_no_binary_properties_file()
    {
        foreach (var file in new[] { new ExecutedFile(0x81ed, 0, 0, Inode: 4711, Links: 1), new ExecutedFile(0x81ed, 0, 0, Inode: 0, Links: 0) })
        {
            var process = Sleep with { Details = new ExecDetails(0, null, 0, file) };

            Assert.False(Json(Exec(process)).GetProperty("process_exec").GetProperty("process").TryGetProperty("binary_properties", out _), file.ToString());
        }
    }

    [Fact]
    public void A_containerized_process_carries_pod_uid_docker_and_in_init_tree_in_tetragons_places()
    {
        const string id = "3f9a2b1c0d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";
        var process = Sleep with { Container = new ContainerIdentity(id, "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"), InInitTree = true };

        var json = Json(Exec(process)).GetProperty("process_exec").GetProperty("process");

        Assert.Equal(["exec_id", "pid", "uid", "cwd", "binary", "arguments", "flags", "start_time", "auid", "pod", "docker", "parent_exec_id", "cap", "ns", "tid", "process_credentials", "in_init_tree"],
            PropertyNames(json));
        Assert.Equal("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", json.GetProperty("pod").GetProperty("uid").GetString());
        Assert.Equal(id[..31], json.GetProperty("docker").GetString());
        Assert.True(json.GetProperty("in_init_tree").GetBoolean());
    }

    [Fact]
    public void A_named_user_is_tetragons_user_record_between_binary_properties_and_in_init_tree_escaped_as_every_string()
    {
        var process = Sleep with
        {
            UserName = "svc\"\n",
            Container = new ContainerIdentity("3f9a2b1c0d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8", null),
            Details = new ExecDetails(0, null, 0, new ExecutedFile(0x81ed, 0, 0, Inode: 42, Links: 0)),
            InInitTree = true,
        };

        var line = Line(new TetragonJsonFormatter(), Exec(process));
        var json = Json(Exec(process)).GetProperty("process_exec").GetProperty("process");

        Assert.Equal(["exec_id", "pid", "uid", "cwd", "binary", "arguments", "flags", "start_time", "auid", "docker", "parent_exec_id", "cap", "ns", "tid", "process_credentials", "binary_properties", "user", "in_init_tree"],
            PropertyNames(json));
        Assert.Equal(["name"], PropertyNames(json.GetProperty("user")));
        Assert.Equal("svc\"\n", json.GetProperty("user").GetProperty("name").GetString());
        Assert.Contains("\"user\":{\"name\":\"svc\\\"\\n\"}", line, StringComparison.Ordinal);
        Assert.Single(line.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void A_thread_running_as_another_uid_than_its_named_leader_gets_no_name_and_one_running_as_it_does()
    {
        var named = Sleep with { UserName = "alice" };
        EnrichedHook OfThread(Credentials credentials)
        {
            var hook = Hook(SetuidHook, tid: 301, credentials: credentials);
            return hook with { Process = named, Thread = new ThreadSnapshot(named, hook.Hook) };
        }

        var asRoot = Json(OfThread(Root)).GetProperty("process_tracepoint").GetProperty("process");
        var asLeader = Json(OfThread(User)).GetProperty("process_tracepoint").GetProperty("process");

        Assert.False(asRoot.TryGetProperty("user", out _));
        Assert.Equal("alice", asLeader.GetProperty("user").GetProperty("name").GetString());
    }

    [Fact]
    public void The_user_field_follows_the_field_selection()
    {
        var exec = Exec(Sleep with { UserName = "alice" });

        var excluded = Json(exec, FieldMask.From(FieldSelection.Exclude("user"))).GetProperty("process_exec");
        var included = Json(exec, FieldMask.From(FieldSelection.Include("process.user"))).GetProperty("process_exec");

        Assert.False(excluded.GetProperty("process").TryGetProperty("user", out _));
        Assert.Equal(["user"], PropertyNames(included.GetProperty("process")));
    }

    [Fact]
    public void A_process_of_a_pod_the_api_server_described_carries_tetragons_pod_with_container_image_labels_and_workload()
    {
        const string id = "3f9a2b1c0d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";
        const string uid = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";
        var pod = new KubernetesPod(uid, "shop", "web-7d9c5b6f4d-x2k8p",
            [new("app", "web"), new("team\"quoted\"", "a\nb")], "web", "Deployment",
            new KubernetesContainer("containerd://" + id, "web", "docker.io/library/nginx:1.27", "docker.io/library/nginx@sha256:6c5b2f1a"));
        var process = Sleep with { Container = new ContainerIdentity(id, uid, pod), InInitTree = true };

        var json = Json(Exec(process)).GetProperty("process_exec").GetProperty("process").GetProperty("pod");

        Assert.Equal(["namespace", "name", "container", "pod_labels", "workload", "workload_kind", "uid"], PropertyNames(json));
        Assert.Equal(("shop", "web-7d9c5b6f4d-x2k8p", "web", "Deployment", uid),
            (json.GetProperty("namespace").GetString(), json.GetProperty("name").GetString(), json.GetProperty("workload").GetString(),
                json.GetProperty("workload_kind").GetString(), json.GetProperty("uid").GetString()));
        var container = json.GetProperty("container");
        Assert.Equal(("containerd://" + id, "web", "docker.io/library/nginx@sha256:6c5b2f1a", "docker.io/library/nginx:1.27"),
            (container.GetProperty("id").GetString(), container.GetProperty("name").GetString(),
                container.GetProperty("image").GetProperty("id").GetString(), container.GetProperty("image").GetProperty("name").GetString()));
        Assert.Equal([("app", "web"), ("team\"quoted\"", "a\nb")],
            json.GetProperty("pod_labels").EnumerateObject().Select(label => (label.Name, label.Value.GetString())));
    }

    [Fact]
    public void Pod_annotations_read_when_asked_for_are_tetragons_pod_annotations_map_after_the_workload_with_hostile_text_escaped()
    {
        const string id = "3f9a2b1c0d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";
        const string uid = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";
        KeyValuePair<string, string>[] annotations =
            [new("prometheus.io/scrape", "true"), new("shop.example/\"owner\"", "team\nweb\u001b[31m\u202e</script>")];
        var pod = new KubernetesPod(uid, "shop", "web-1", [new("app", "web")], "web", "Deployment", Annotations: [.. annotations]);
        var process = Sleep with { Container = new ContainerIdentity(id, uid, pod) };

        var line = Line(new TetragonJsonFormatter(), Exec(process));
        var json = Json(Exec(process)).GetProperty("process_exec").GetProperty("process").GetProperty("pod");

        Assert.Equal(["namespace", "name", "pod_labels", "workload", "workload_kind", "pod_annotations", "uid"], PropertyNames(json));
        Assert.Equal(annotations.Select(a => (a.Key, a.Value)),
            json.GetProperty("pod_annotations").EnumerateObject().Select(a => (a.Name, a.Value.GetString()!)));
        // JSON's escaping: the quote, the line break and the escape character never reach the line raw.
        Assert.Contains("\"shop.example/\\\"owner\\\"\":\"team\\nweb\\u001B[31m", line);
        Assert.DoesNotContain('\u001b', line);
    }

    [Fact]
    public void A_pod_container_carries_its_start_the_process_s_pid_in_its_namespace_probe_match_and_security_context_in_tetragons_order()
    {
        const string id = "3f9a2b1c0d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";
        const string uid = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";
        var started = new DateTime(2024, 5, 1, 10, 59, 58, DateTimeKind.Utc).AddTicks(5_000_000);
        var container = new KubernetesContainer("containerd://" + id, "web", "nginx:1.27", "nginx@sha256:6c5b", started, Privileged: true,
            ExecProbes: [["sleep", "0.2"]]);
        var pod = new KubernetesPod(uid, "shop", "web-1", [], "web", "Deployment", container);
        var probe = Sleep with { Container = new ContainerIdentity(id, uid, pod), Details = new ExecDetails(0, null, NamespacePid: 7, default) };

        var written = Json(Exec(probe)).GetProperty("process_exec").GetProperty("process").GetProperty("pod").GetProperty("container");

        Assert.Equal(["id", "name", "image", "start_time", "pid", "maybe_exec_probe", "security_context"], PropertyNames(written));
        Assert.Equal("2024-05-01T10:59:58.500Z", written.GetProperty("start_time").GetString());
        Assert.Equal(7, written.GetProperty("pid").GetInt32());
        Assert.True(written.GetProperty("maybe_exec_probe").GetBoolean());
        Assert.True(written.GetProperty("security_context").GetProperty("privileged").GetBoolean());

        // A fork that has not exec'd has no pid of its own in the namespace yet; a command other than the probe's is no probe;
        // an unprivileged container's security context is empty, as protojson writes a false flag.
        var plain = container with { StartedAt = null, Privileged = false };
        var other = Sleep with
        {
            Arguments = ["sleep", "5"],
            Container = new ContainerIdentity(id, uid, pod with { Container = plain }),
            Details = new ExecDetails(0, null, NamespacePid: 0, default),
        };
        var otherWritten = Json(Exec(other)).GetProperty("process_exec").GetProperty("process").GetProperty("pod").GetProperty("container");
        Assert.Equal(["id", "name", "image", "security_context"], PropertyNames(otherWritten));
        Assert.Empty(PropertyNames(otherWritten.GetProperty("security_context")));
    }

    [Fact]
    public void A_pod_known_before_its_container_is_named_carries_no_container()
    {
        const string uid = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";
        var pod = new KubernetesPod(uid, "default", "debug", [], "debug", "Pod");
        var process = Sleep with { Container = new ContainerIdentity("3f9a2b1c0d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8", uid, pod) };

        var json = Json(Exec(process)).GetProperty("process_exec").GetProperty("process").GetProperty("pod");

        Assert.Equal(["namespace", "name", "workload", "workload_kind", "uid"], PropertyNames(json));
    }

    [Fact]
    public void A_process_outside_containers_has_no_pod_docker_or_in_init_tree()
    {
        var json = Json(Exec()).GetProperty("process_exec").GetProperty("process");

        Assert.False(json.TryGetProperty("pod", out _));
        Assert.False(json.TryGetProperty("docker", out _));
        Assert.False(json.TryGetProperty("in_init_tree", out _));
    }

    private static uint[] EightIds(JsonElement credentials) =>
        Array.ConvertAll(["uid", "gid", "euid", "egid", "suid", "sgid", "fsuid", "fsgid"], name => credentials.GetProperty(name).GetUInt32());

    [Fact]
    public void Parent_is_the_immediate_parent_and_ancestors_start_beyond_it()
    {
        var exec = Json(Exec()).GetProperty("process_exec");

        var parent = exec.GetProperty("parent");
        Assert.Equal(Sh.ExecId, ExecId.Decode(parent.GetProperty("exec_id").GetString()!));
        Assert.Equal(Bash.ExecId, ExecId.Decode(parent.GetProperty("parent_exec_id").GetString()!));
        var ancestors = exec.GetProperty("ancestors");
        Assert.Equal(1, ancestors.GetArrayLength());
        Assert.Equal(Bash.ExecId, ExecId.Decode(ancestors[0].GetProperty("exec_id").GetString()!));
    }

    [Fact]
    public void Arguments_join_after_argv0_and_quote_those_with_spaces()
    {
        var parent = Json(Exec()).GetProperty("process_exec").GetProperty("parent");

        Assert.Equal("-c \"sleep 0.2\"", parent.GetProperty("arguments").GetString());
    }

    [Fact]
    public void A_process_without_arguments_or_parent_image_leaves_those_fields_out()
    {
        var bash = Json(Exec()).GetProperty("process_exec").GetProperty("ancestors")[0];

        Assert.False(bash.TryGetProperty("arguments", out _));
        Assert.False(bash.TryGetProperty("parent_exec_id", out _));
        Assert.Equal("procFS", bash.GetProperty("flags").GetString());
    }

    [Theory]
    [InlineData(ProcessFlags.Exec | ProcessFlags.FilenameTruncated | ProcessFlags.ArgsTruncated | ProcessFlags.CwdTruncated, "/x",
        "execve truncFilename truncArgs truncCWD clone")]
    [InlineData(ProcessFlags.Exec, "/", "execve rootcwd clone")]
    [InlineData(ProcessFlags.Procfs, "/srv", "procFS")]
    [InlineData(ProcessFlags.Exec | ProcessFlags.CloneOnly, "/srv", "clone")]
    public void Flags_are_tetragon_words(ProcessFlags flags, string cwd, string words)
    {
        var process = Sleep with { Flags = flags, Cwd = cwd };

        var written = Json(Exec(process)).GetProperty("process_exec").GetProperty("process").GetProperty("flags").GetString();

        Assert.Equal(words, written);
    }

    [Fact]
    public void Exec_without_a_fork_has_no_clone_flag()
    {
        var reExec = Sleep with { ParentExecId = new ExecId(Node, 2_500, Sleep.Pid) };

        var flags = Json(Exec(reExec)).GetProperty("process_exec").GetProperty("process").GetProperty("flags").GetString();

        Assert.Equal("execve", flags);
    }

    [Fact]
    public void Exit_reports_status_and_exit_time_and_no_signal_for_a_normal_exit()
    {
        var root = Json(Exit(status: 3));

        var exit = root.GetProperty("process_exit");
        Assert.Equal(["process", "parent", "status", "time", "ancestors"], PropertyNames(exit));
        Assert.Equal(3u, exit.GetProperty("status").GetUInt32());
        Assert.Equal("2024-05-01T12:00:02.250Z", exit.GetProperty("time").GetString());
        Assert.Equal(Sleep.ExecId, ExecId.Decode(exit.GetProperty("process").GetProperty("exec_id").GetString()!));
    }

    [Theory]
    [InlineData(ExitConclusion.Restart)]
    [InlineData(ExitConclusion.Lost)]
    public void A_concluded_exit_has_no_status_so_it_is_not_read_as_a_clean_exit(ExitConclusion conclusion)
    {
        var concluded = Exit() with
        {
            Process = Sleep with { Exit = new ProcessExit(0, 0, 4_000, EventTime.AddSeconds(1), LastTid: 300, conclusion, EventTime) },
        };

        var exit = Json(concluded).GetProperty("process_exit");

        Assert.Equal(["process", "parent", "time", "ancestors"], PropertyNames(exit));
        Assert.Equal("2024-05-01T12:00:02.250Z", exit.GetProperty("time").GetString());
    }

    [Fact]
    public void Exit_by_a_signal_names_it()
    {
        var exit = Json(Exit(signal: 9)).GetProperty("process_exit");

        Assert.Equal("SIGKILL", exit.GetProperty("signal").GetString());
        Assert.Equal(0u, exit.GetProperty("status").GetUInt32());
    }

    [Fact]
    public void Exit_by_a_realtime_signal_names_it_relative_to_sigrtmin()
    {
        var exit = Json(Exit(signal: 36)).GetProperty("process_exit");

        Assert.Equal("SIGRTMIN+2", exit.GetProperty("signal").GetString());
    }

    [Fact]
    public void Kprobe_hook_is_a_process_kprobe_with_function_name_args_return_and_policy_name()
    {
        var kprobe = Json(Hook(CommitCredsHook, phase: HookPhase.Exit, returned: -13)).GetProperty("process_kprobe");

        Assert.Equal(["process", "parent", "function_name", "args", "return", "action", "policy_name", "ancestors"], PropertyNames(kprobe));
        Assert.Equal("KPROBE_ACTION_POST", kprobe.GetProperty("action").GetString());
        Assert.Equal("commit_creds", kprobe.GetProperty("function_name").GetString());
        Assert.Equal(
            ["10", "20", "30", "40", "50", "18446744073709551615"],
            kprobe.GetProperty("args").EnumerateArray().Select(argument => argument.GetProperty("size_arg").GetString()!).ToArray());
        Assert.Equal("-13", kprobe.GetProperty("return").GetProperty("long_arg").GetString());
        Assert.Equal("commit_creds", kprobe.GetProperty("policy_name").GetString());
    }

    [Fact]
    public void Syscall_hook_is_a_raw_syscalls_tracepoint_whose_first_arg_is_the_syscall_number()
    {
        var enter = Json(Hook(SetuidHook)).GetProperty("process_tracepoint");

        Assert.Equal("raw_syscalls", enter.GetProperty("subsys").GetString());
        Assert.Equal("sys_enter", enter.GetProperty("event").GetString());
        Assert.Equal("setuid", enter.GetProperty("policy_name").GetString());
        Assert.Equal("KPROBE_ACTION_POST", enter.GetProperty("action").GetString());
        Assert.Equal(["process", "parent", "subsys", "event", "args", "policy_name", "action", "ancestors"], PropertyNames(enter));
        var args = enter.GetProperty("args");
        Assert.Equal(7, args.GetArrayLength());
        Assert.Equal("105", args[0].GetProperty("long_arg").GetString());
        Assert.Equal("10", args[1].GetProperty("size_arg").GetString());
        Assert.False(enter.TryGetProperty("return", out _));
    }

    [Fact]
    public void Syscall_hook_on_exit_is_sys_exit_with_the_return_value_second_as_the_tracepoints_ret()
    {
        var exit = Json(Hook(SetuidHook, phase: HookPhase.Exit, returned: -1)).GetProperty("process_tracepoint");

        Assert.Equal("sys_exit", exit.GetProperty("event").GetString());
        Assert.False(exit.TryGetProperty("return", out _));
        var args = exit.GetProperty("args");
        Assert.Equal(8, args.GetArrayLength());
        Assert.Equal("105", args[0].GetProperty("long_arg").GetString());
        Assert.Equal("-1", args[1].GetProperty("long_arg").GetString());
        Assert.Equal("10", args[2].GetProperty("size_arg").GetString());
    }

    [Fact]
    public void Tracepoint_hook_named_subsys_colon_event_splits_into_subsys_and_event()
    {
        var tracepoint = Json(Hook(SchedSwitchHook)).GetProperty("process_tracepoint");

        Assert.Equal("sched", tracepoint.GetProperty("subsys").GetString());
        Assert.Equal("sched_switch", tracepoint.GetProperty("event").GetString());
        Assert.Equal(6, tracepoint.GetProperty("args").GetArrayLength());
    }

    [Fact]
    public void Hook_of_the_leader_renders_the_leaders_snapshot_with_tid_equal_pid()
    {
        var process = Json(Hook(SetuidHook, credentials: Root)).GetProperty("process_tracepoint").GetProperty("process");

        Assert.Equal(300, process.GetProperty("tid").GetInt32());
        Assert.Equal(1002u, process.GetProperty("process_credentials").GetProperty("euid").GetUInt32());
    }

    [Fact]
    public void Hook_of_a_thread_renders_its_tid_credentials_capabilities_and_namespaces_on_the_leaders_process()
    {
        var threadCredentials = new Credentials(2000, 2001, 2002, 2003, 2004, 2005, 2006, 2007);
        var threadNamespaces = OnThisHost(InitInodes with { Net = 4026532999 });
        var hook = Hook(SetuidHook, tid: 301, credentials: threadCredentials,
            capabilities: new Capabilities(Permitted: 1UL << 7, Effective: 1UL << 7, Inheritable: 0), namespaces: threadNamespaces);

        var tracepoint = Json(hook).GetProperty("process_tracepoint");

        var process = tracepoint.GetProperty("process");
        Assert.Equal(Sleep.ExecId, ExecId.Decode(process.GetProperty("exec_id").GetString()!));
        Assert.Equal(300, process.GetProperty("pid").GetInt32());
        Assert.Equal(301, process.GetProperty("tid").GetInt32());
        Assert.Equal(2002u, process.GetProperty("uid").GetUInt32());
        Assert.Equal([2000u, 2001u, 2002u, 2003u, 2004u, 2005u, 2006u, 2007u], EightIds(process.GetProperty("process_credentials")));
        Assert.Equal(["CAP_SETUID"], Strings(process.GetProperty("process_credentials").GetProperty("caps").GetProperty("effective")));
        Assert.Equal(["CAP_SETUID"], Strings(process.GetProperty("cap").GetProperty("effective")));
        Assert.Equal(4026532999u, process.GetProperty("ns").GetProperty("net").GetProperty("inum").GetUInt32());
        Assert.False(process.GetProperty("ns").GetProperty("net").TryGetProperty("is_host", out _));
        Assert.Equal("/usr/bin/sleep", process.GetProperty("binary").GetString());
        // The parent stays the parent's own view.
        Assert.Equal(200, tracepoint.GetProperty("parent").GetProperty("tid").GetInt32());
    }

    [Fact]
    public void Clone_only_process_is_forklines_process_clone()
    {
        var root = Json(Clone());

        Assert.Equal(["process_clone", "node_name", "time"], PropertyNames(root));
        Assert.Equal("clone", root.GetProperty("process_clone").GetProperty("process").GetProperty("flags").GetString());
    }

    [Fact]
    public void Incomplete_event_carries_tetragons_miss_flag_and_leaves_the_unknown_parent_out()
    {
        var orphan = new EnrichedExec(Node, EventTime, 3_000, Sleep with { Flags = Sleep.Flags | ProcessFlags.Incomplete }, null, null);

        var root = Json(orphan);

        Assert.Equal(["process_exec", "node_name", "time"], PropertyNames(root));
        Assert.Equal("execve miss clone", root.GetProperty("process_exec").GetProperty("process").GetProperty("flags").GetString());
        Assert.Equal(["process"], PropertyNames(root.GetProperty("process_exec")));
    }

    [Fact]
    public void Exit_of_a_process_never_known_leaves_out_the_ids_it_never_saw_instead_of_writing_root()
    {
        var exit = Json(ExitOfUnknown()).GetProperty("process_exit");

        Assert.Equal(["exec_id", "pid", "flags", "start_time", "tid"], PropertyNames(exit.GetProperty("process")));
        Assert.Equal("miss", exit.GetProperty("process").GetProperty("flags").GetString());
        Assert.Equal(9, exit.GetProperty("status").GetInt32());
    }

    [Fact]
    public void Hook_of_a_process_never_known_has_the_callers_ids_and_no_audit_uid()
    {
        var process = Json(HookOfUnknown(SetuidHook)).GetProperty("process_tracepoint").GetProperty("process");

        Assert.Equal(["exec_id", "pid", "uid", "flags", "start_time", "cap", "ns", "tid", "process_credentials"], PropertyNames(process));
        Assert.Equal(1002u, process.GetProperty("uid").GetUInt32());
        Assert.Equal(1000u, process.GetProperty("process_credentials").GetProperty("uid").GetUInt32());
    }

    [Theory]
    [InlineData(0L, "2024-05-01T12:00:00Z")]
    [InlineData(1_230_000L, "2024-05-01T12:00:00.123Z")]
    [InlineData(1_234_560L, "2024-05-01T12:00:00.123456Z")]
    [InlineData(1_234_567L, "2024-05-01T12:00:00.123456700Z")]
    public void Timestamps_are_rfc3339_utc_with_as_many_fraction_digits_as_protojson(long ticks, string expected)
    {
        var at = new DateTime(2024, 5, 1, 12, 0, 0, DateTimeKind.Utc).AddTicks(ticks);

        var root = Json(Exec() with { Time = at });

        Assert.Equal(expected, root.GetProperty("time").GetString());
        Assert.Equal(at, DateTime.Parse(expected, null, System.Globalization.DateTimeStyles.AdjustToUniversal));
    }

    [Theory]
    [InlineData("node:with:colons")]
    [InlineData("nœud-ü-日本")]
    [InlineData("")]
    public void Exec_ids_are_base64_of_node_start_and_pid_as_Tetragon_writes_them_for_any_node_name(string node)
    {
        var process = Sleep with { ExecId = new ExecId(node, ulong.MaxValue, int.MaxValue), ParentExecId = new ExecId(node, 1, 1) };

        var written = Json(Exec(process)).GetProperty("process_exec").GetProperty("process");

        Assert.Equal(Tetragon(node, ulong.MaxValue, int.MaxValue), written.GetProperty("exec_id").GetString());
        Assert.Equal(Tetragon(node, 1, 1), written.GetProperty("parent_exec_id").GetString());
        Assert.Equal(Tetragon(node, ulong.MaxValue, int.MaxValue), process.ExecId.Encode());
    }

    [Fact]
    public void Exec_id_of_a_node_name_longer_than_the_stack_buffer_is_Tetragons()
    {
        var node = string.Concat(Enumerable.Repeat("nœud-日本", 300));
        var process = Sleep with { ExecId = new ExecId(node, 7, 8) };

        var written = Json(Exec(process)).GetProperty("process_exec").GetProperty("process");

        Assert.Equal(Tetragon(node, 7, 8), written.GetProperty("exec_id").GetString());
        Assert.Equal(Tetragon(node, 7, 8), process.ExecId.Encode());
    }

    private static string Tetragon(string node, ulong startKtime, int pid) =>
        Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{node}:{startKtime}:{pid}"));

    [Fact]
    public void Strings_from_processes_round_trip_unescaped_for_html_and_escaped_for_control_characters()
    {
        var process = Sleep with { Binary = "/tmp/a<b>&'c\"d\\e\nf\u001b", Arguments = ["x", "ü+日本"] };

        var line = Line(new TetragonJsonFormatter(), Exec(process));
        var written = Json(Exec(process)).GetProperty("process_exec").GetProperty("process");

        Assert.Equal(process.Binary, written.GetProperty("binary").GetString());
        Assert.Equal("ü+日本", written.GetProperty("arguments").GetString());
        Assert.Contains("/tmp/a<b>&'c", line);
        Assert.Contains("ü+日本", line);
    }

    [Fact]
    public void Formatting_reuses_its_buffers_and_allocates_nothing_per_event()
    {
        var formatter = new TetragonJsonFormatter();
        const string id = "3f9a2b1c0d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";
        var inPod = Sleep with
        {
            Container = new ContainerIdentity(id, "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", new KubernetesPod("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", "shop", "web-1",
                [new("app", "web")], "web", "Deployment",
                new KubernetesContainer("containerd://" + id, "web", "nginx:1.27", "nginx@sha256:6c5b", EventTime, Privileged: true,
                    ExecProbes: [["sleep", "0.2"], ["/bin/sh", "-c", "true"]]),
                [new("prometheus.io/scrape", "true"), new("shop.example/owner", "team \"web\"")])),
            Details = new ExecDetails(0, null, NamespacePid: 7, default),
            InInitTree = true,
        };
        var events = new EnrichedEvent[]
        {
            Exec(), Exit(signal: 9), Exit(status: 1), Clone(), Hook(SetuidHook, tid: 301), Hook(CommitCredsHook, phase: HookPhase.Exit),
            Hook(SchedSwitchHook), Exec(inPod),
        };
        var output = new ArrayBufferWriter<byte>(64 * 1024);
        foreach (var enriched in events) formatter.Format(enriched, output);

        output.ResetWrittenCount();
        var before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var enriched in events) formatter.Format(enriched, output);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
    }
}
