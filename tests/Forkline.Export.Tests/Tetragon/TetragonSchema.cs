using System.Collections.Frozen;

namespace Forkline.Export.Tests.Tetragon;

/// <summary>How a proto3 field is written in protojson.</summary>
internal enum FieldKind
{
    String,
    Bool,
    Int32,
    UInt32,
    Int64,
    UInt64,
    Bytes,
    Message,
    Enum,
    Timestamp,
    Int32Value,
    UInt32Value,
    BoolValue,
    StringMap,
}

/// <param name="Type">Message or enum name for <see cref="FieldKind.Message"/> / <see cref="FieldKind.Enum"/>.</param>
/// <param name="Oneof">The oneof the field belongs to: at most one member of a oneof may be set.</param>
internal sealed record Field(string Name, FieldKind Kind, string? Type = null, bool Repeated = false, string? Oneof = null);

/// <summary>
/// Our own table of the messages and enums of Tetragon's public API (cilium/tetragon api/v1/tetragon:
/// tetragon.proto, events.proto, capabilities.proto, bpf.proto), written down as facts (field names,
/// kinds, enum value names) for the parts an exported line can reach. A message named as a field type
/// but not listed here (ProcessLoader, KprobeSock, ...) is one Forkline never writes; meeting it fails.
/// </summary>
internal static class TetragonSchema
{
    public const string Root = "GetEventsResponse";

    private const string Events = "event";
    private const string Arg = "arg";

    public static readonly FrozenDictionary<string, FrozenDictionary<string, Field>> Messages = new Dictionary<string, Field[]>
    {
        [Root] =
        [
            new("process_exec", FieldKind.Message, "ProcessExec", Oneof: Events),
            new("process_exit", FieldKind.Message, "ProcessExit", Oneof: Events),
            new("process_kprobe", FieldKind.Message, "ProcessKprobe", Oneof: Events),
            new("process_tracepoint", FieldKind.Message, "ProcessTracepoint", Oneof: Events),
            new("process_loader", FieldKind.Message, "ProcessLoader", Oneof: Events),
            new("process_uprobe", FieldKind.Message, "ProcessUprobe", Oneof: Events),
            new("process_throttle", FieldKind.Message, "ProcessThrottle", Oneof: Events),
            new("process_lsm", FieldKind.Message, "ProcessLsm", Oneof: Events),
            new("process_usdt", FieldKind.Message, "ProcessUsdt", Oneof: Events),
            new("test", FieldKind.Message, "Test", Oneof: Events),
            new("rate_limit_info", FieldKind.Message, "RateLimitInfo", Oneof: Events),
            new("node_name", FieldKind.String),
            new("time", FieldKind.Timestamp),
            new("aggregation_info", FieldKind.Message, "AggregationInfo"),
            new("cluster_name", FieldKind.String),
            new("node_labels", FieldKind.StringMap),
        ],
        ["ProcessExec"] =
        [
            new("process", FieldKind.Message, "Process"),
            new("parent", FieldKind.Message, "Process"),
            new("ancestors", FieldKind.Message, "Process", Repeated: true),
        ],
        ["RateLimitInfo"] =
        [
            new("number_of_dropped_process_events", FieldKind.UInt64),
        ],
        ["ProcessExit"] =
        [
            new("process", FieldKind.Message, "Process"),
            new("parent", FieldKind.Message, "Process"),
            new("signal", FieldKind.String),
            new("status", FieldKind.UInt32),
            new("time", FieldKind.Timestamp),
            new("ancestors", FieldKind.Message, "Process", Repeated: true),
        ],
        ["ProcessKprobe"] =
        [
            new("process", FieldKind.Message, "Process"),
            new("parent", FieldKind.Message, "Process"),
            new("function_name", FieldKind.String),
            new("args", FieldKind.Message, "KprobeArgument", Repeated: true),
            new("return", FieldKind.Message, "KprobeArgument"),
            new("action", FieldKind.Enum, "KprobeAction"),
            new("kernel_stack_trace", FieldKind.Message, "StackTraceEntry", Repeated: true),
            new("policy_name", FieldKind.String),
            new("return_action", FieldKind.Enum, "KprobeAction"),
            new("message", FieldKind.String),
            new("tags", FieldKind.String, Repeated: true),
            new("user_stack_trace", FieldKind.Message, "StackTraceEntry", Repeated: true),
            new("ancestors", FieldKind.Message, "Process", Repeated: true),
            new("data", FieldKind.Message, "KprobeArgument", Repeated: true),
        ],
        ["ProcessTracepoint"] =
        [
            new("process", FieldKind.Message, "Process"),
            new("parent", FieldKind.Message, "Process"),
            new("subsys", FieldKind.String),
            new("event", FieldKind.String),
            new("args", FieldKind.Message, "KprobeArgument", Repeated: true),
            new("policy_name", FieldKind.String),
            new("action", FieldKind.Enum, "KprobeAction"),
            new("message", FieldKind.String),
            new("tags", FieldKind.String, Repeated: true),
            new("ancestors", FieldKind.Message, "Process", Repeated: true),
        ],
        ["Process"] =
        [
            new("exec_id", FieldKind.String),
            new("pid", FieldKind.UInt32Value),
            new("uid", FieldKind.UInt32Value),
            new("cwd", FieldKind.String),
            new("binary", FieldKind.String),
            new("arguments", FieldKind.String),
            new("flags", FieldKind.String),
            new("start_time", FieldKind.Timestamp),
            new("auid", FieldKind.UInt32Value),
            new("pod", FieldKind.Message, "Pod"),
            new("docker", FieldKind.String),
            new("parent_exec_id", FieldKind.String),
            new("refcnt", FieldKind.UInt32),
            new("cap", FieldKind.Message, "Capabilities"),
            new("ns", FieldKind.Message, "Namespaces"),
            new("tid", FieldKind.UInt32Value),
            new("process_credentials", FieldKind.Message, "ProcessCredentials"),
            new("binary_properties", FieldKind.Message, "BinaryProperties"),
            new("user", FieldKind.Message, "UserRecord"),
            new("in_init_tree", FieldKind.BoolValue),
            new("environment_variables", FieldKind.Message, "EnvVar", Repeated: true),
        ],
        ["Pod"] =
        [
            new("namespace", FieldKind.String),
            new("name", FieldKind.String),
            new("uid", FieldKind.String),
            new("container", FieldKind.Message, "Container"),
            new("pod_labels", FieldKind.StringMap),
            new("workload", FieldKind.String),
            new("workload_kind", FieldKind.String),
            new("pod_annotations", FieldKind.StringMap),
        ],
        ["Container"] =
        [
            new("id", FieldKind.String),
            new("name", FieldKind.String),
            new("image", FieldKind.Message, "Image"),
            new("start_time", FieldKind.Timestamp),
            new("pid", FieldKind.UInt32Value),
            new("maybe_exec_probe", FieldKind.Bool),
            new("security_context", FieldKind.Message, "SecurityContext"),
        ],
        ["Image"] = [new("id", FieldKind.String), new("name", FieldKind.String)],
        ["SecurityContext"] = [new("privileged", FieldKind.Bool)],
        ["Capabilities"] =
        [
            new("permitted", FieldKind.Enum, "CapabilitiesType", Repeated: true),
            new("effective", FieldKind.Enum, "CapabilitiesType", Repeated: true),
            new("inheritable", FieldKind.Enum, "CapabilitiesType", Repeated: true),
        ],
        ["Namespace"] = [new("inum", FieldKind.UInt32), new("is_host", FieldKind.Bool)],
        ["Namespaces"] = Array.ConvertAll(
            ["uts", "ipc", "mnt", "pid", "pid_for_children", "net", "time", "time_for_children", "cgroup", "user"],
            name => new Field(name, FieldKind.Message, "Namespace")),
        ["UserNamespace"] =
        [
            new("level", FieldKind.Int32Value),
            new("uid", FieldKind.UInt32Value),
            new("gid", FieldKind.UInt32Value),
            new("ns", FieldKind.Message, "Namespace"),
        ],
        ["ProcessCredentials"] =
        [
            new("uid", FieldKind.UInt32Value),
            new("gid", FieldKind.UInt32Value),
            new("euid", FieldKind.UInt32Value),
            new("egid", FieldKind.UInt32Value),
            new("suid", FieldKind.UInt32Value),
            new("sgid", FieldKind.UInt32Value),
            new("fsuid", FieldKind.UInt32Value),
            new("fsgid", FieldKind.UInt32Value),
            new("securebits", FieldKind.Enum, "SecureBitsType", Repeated: true),
            new("caps", FieldKind.Message, "Capabilities"),
            new("user_ns", FieldKind.Message, "UserNamespace"),
        ],
        ["InodeProperties"] = [new("number", FieldKind.UInt64), new("links", FieldKind.UInt32Value)],
        ["FileProperties"] = [new("inode", FieldKind.Message, "InodeProperties"), new("path", FieldKind.String)],
        ["BinaryProperties"] =
        [
            new("setuid", FieldKind.UInt32Value),
            new("setgid", FieldKind.UInt32Value),
            new("privileges_changed", FieldKind.Enum, "ProcessPrivilegesChanged", Repeated: true),
            new("file", FieldKind.Message, "FileProperties"),
        ],
        ["UserRecord"] = [new("name", FieldKind.String)],
        ["EnvVar"] = [new("Key", FieldKind.String), new("Value", FieldKind.String)],
        ["KprobeArgument"] =
        [
            new("string_arg", FieldKind.String, Oneof: Arg),
            new("int_arg", FieldKind.Int32, Oneof: Arg),
            new("skb_arg", FieldKind.Message, "KprobeSkb", Oneof: Arg),
            new("size_arg", FieldKind.UInt64, Oneof: Arg),
            new("bytes_arg", FieldKind.Bytes, Oneof: Arg),
            new("path_arg", FieldKind.Message, "KprobePath", Oneof: Arg),
            new("file_arg", FieldKind.Message, "KprobeFile", Oneof: Arg),
            new("truncated_bytes_arg", FieldKind.Message, "KprobeTruncatedBytes", Oneof: Arg),
            new("sock_arg", FieldKind.Message, "KprobeSock", Oneof: Arg),
            new("cred_arg", FieldKind.Message, "KprobeCred", Oneof: Arg),
            new("long_arg", FieldKind.Int64, Oneof: Arg),
            new("bpf_attr_arg", FieldKind.Message, "KprobeBpfAttr", Oneof: Arg),
            new("perf_event_arg", FieldKind.Message, "KprobePerfEvent", Oneof: Arg),
            new("bpf_map_arg", FieldKind.Message, "KprobeBpfMap", Oneof: Arg),
            new("uint_arg", FieldKind.UInt32, Oneof: Arg),
            new("user_namespace_arg", FieldKind.Message, "KprobeUserNamespace", Oneof: Arg),
            new("capability_arg", FieldKind.Message, "KprobeCapability", Oneof: Arg),
            new("process_credentials_arg", FieldKind.Message, "ProcessCredentials", Oneof: Arg),
            new("user_ns_arg", FieldKind.Message, "UserNamespace", Oneof: Arg),
            new("module_arg", FieldKind.Message, "KernelModule", Oneof: Arg),
            new("kernel_cap_t_arg", FieldKind.String, Oneof: Arg),
            new("cap_inheritable_arg", FieldKind.String, Oneof: Arg),
            new("cap_permitted_arg", FieldKind.String, Oneof: Arg),
            new("cap_effective_arg", FieldKind.String, Oneof: Arg),
            new("linux_binprm_arg", FieldKind.Message, "KprobeLinuxBinprm", Oneof: Arg),
            new("net_dev_arg", FieldKind.Message, "KprobeNetDev", Oneof: Arg),
            new("bpf_cmd_arg", FieldKind.Enum, "BpfCmd", Oneof: Arg),
            new("syscall_id", FieldKind.Message, "SyscallId", Oneof: Arg),
            new("sockaddr_arg", FieldKind.Message, "KprobeSockaddr", Oneof: Arg),
            new("bpf_prog_arg", FieldKind.Message, "KprobeBpfProg", Oneof: Arg),
            new("error_arg", FieldKind.Message, "KprobeError", Oneof: Arg),
            new("sockaddrun_arg", FieldKind.Message, "KprobeSockaddrUn", Oneof: Arg),
            new("label", FieldKind.String),
        ],
    }.ToFrozenDictionary(
        entry => entry.Key,
        entry => entry.Value.ToFrozenDictionary(field => field.Name, StringComparer.Ordinal),
        StringComparer.Ordinal);

    public static readonly FrozenDictionary<string, FrozenSet<string>> Enums = new Dictionary<string, string[]>
    {
        ["KprobeAction"] =
        [
            "KPROBE_ACTION_UNKNOWN", "KPROBE_ACTION_POST", "KPROBE_ACTION_FOLLOWFD", "KPROBE_ACTION_SIGKILL",
            "KPROBE_ACTION_UNFOLLOWFD", "KPROBE_ACTION_OVERRIDE", "KPROBE_ACTION_COPYFD", "KPROBE_ACTION_GETURL",
            "KPROBE_ACTION_DNSLOOKUP", "KPROBE_ACTION_NOPOST", "KPROBE_ACTION_SIGNAL", "KPROBE_ACTION_TRACKSOCK",
            "KPROBE_ACTION_UNTRACKSOCK", "KPROBE_ACTION_NOTIFYENFORCER", "KPROBE_ACTION_CLEANUPENFORCERNOTIFICATION",
            "KPROBE_ACTION_SET",
        ],
        // Bit 1 is spelled without the CAP_ prefix in Tetragon's enum.
        ["CapabilitiesType"] =
        [
            "CAP_CHOWN", "DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
            "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
            "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO",
            "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
            "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
            "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
            "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
        ],
        ["SecureBitsType"] =
        [
            "SecBitNotSet", "SecBitNoRoot", "SecBitNoRootLocked", "SecBitNoSetUidFixup", "SecBitNoSetUidFixupLocked",
            "SecBitKeepCaps", "SecBitKeepCapsLocked", "SecBitNoCapAmbientRaise", "SecBitNoCapAmbientRaiseLocked",
        ],
        ["ProcessPrivilegesChanged"] =
        [
            "PRIVILEGES_CHANGED_UNSET", "PRIVILEGES_RAISED_EXEC_FILE_CAP", "PRIVILEGES_RAISED_EXEC_FILE_SETUID",
            "PRIVILEGES_RAISED_EXEC_FILE_SETGID",
        ],
    }.ToFrozenDictionary(entry => entry.Key, entry => entry.Value.ToFrozenSet(StringComparer.Ordinal), StringComparer.Ordinal);
}
