using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using Forkline.Contracts.Events;
using Forkline.Contracts.Identity;
using Forkline.Contracts.Snapshots;

namespace Forkline.Export;

/// <summary>
/// Writes one Tetragon "Process" object, fields in the proto's field-number order as protojson does.
/// For a thread's hook event the object is the leader's, with the thread's own tid, credentials,
/// capabilities and namespaces. One instance per writer thread (it reuses an argument buffer).
/// Left out, as Tetragon leaves them out when it has nothing to say: "refcnt" (a counter of Tetragon's
/// own process cache) and "environment_variables" (not read); "user" only when the collector named the uid.
/// </summary>
internal sealed class ProcessJsonWriter
{
    private static readonly JsonEncodedText ExecIdName = JsonEncodedText.Encode("exec_id");
    private static readonly JsonEncodedText PidName = JsonEncodedText.Encode("pid");
    private static readonly JsonEncodedText UidName = JsonEncodedText.Encode("uid");
    private static readonly JsonEncodedText CwdName = JsonEncodedText.Encode("cwd");
    private static readonly JsonEncodedText BinaryName = JsonEncodedText.Encode("binary");
    private static readonly JsonEncodedText ArgumentsName = JsonEncodedText.Encode("arguments");
    private static readonly JsonEncodedText FlagsName = JsonEncodedText.Encode("flags");
    private static readonly JsonEncodedText StartTimeName = JsonEncodedText.Encode("start_time");
    private static readonly JsonEncodedText AuidName = JsonEncodedText.Encode("auid");
    private static readonly JsonEncodedText ParentExecIdName = JsonEncodedText.Encode("parent_exec_id");
    private static readonly JsonEncodedText CapName = JsonEncodedText.Encode("cap");
    private static readonly JsonEncodedText PermittedName = JsonEncodedText.Encode("permitted");
    private static readonly JsonEncodedText EffectiveName = JsonEncodedText.Encode("effective");
    private static readonly JsonEncodedText InheritableName = JsonEncodedText.Encode("inheritable");
    private static readonly JsonEncodedText NsName = JsonEncodedText.Encode("ns");
    private static readonly JsonEncodedText InumName = JsonEncodedText.Encode("inum");
    private static readonly JsonEncodedText IsHostName = JsonEncodedText.Encode("is_host");
    private static readonly JsonEncodedText TidName = JsonEncodedText.Encode("tid");
    private static readonly JsonEncodedText CredentialsName = JsonEncodedText.Encode("process_credentials");
    private static readonly JsonEncodedText PodName = JsonEncodedText.Encode("pod");
    private static readonly JsonEncodedText DockerName = JsonEncodedText.Encode("docker");
    private static readonly JsonEncodedText NamespaceName = JsonEncodedText.Encode("namespace");
    private static readonly JsonEncodedText NameName = JsonEncodedText.Encode("name");
    private static readonly JsonEncodedText ContainerName = JsonEncodedText.Encode("container");
    private static readonly JsonEncodedText IdName = JsonEncodedText.Encode("id");
    private static readonly JsonEncodedText ImageName = JsonEncodedText.Encode("image");
    private static readonly JsonEncodedText MaybeExecProbeName = JsonEncodedText.Encode("maybe_exec_probe");
    private static readonly JsonEncodedText SecurityContextName = JsonEncodedText.Encode("security_context");
    private static readonly JsonEncodedText PrivilegedName = JsonEncodedText.Encode("privileged");
    private static readonly JsonEncodedText PodLabelsName = JsonEncodedText.Encode("pod_labels");
    private static readonly JsonEncodedText WorkloadName = JsonEncodedText.Encode("workload");
    private static readonly JsonEncodedText WorkloadKindName = JsonEncodedText.Encode("workload_kind");
    private static readonly JsonEncodedText PodAnnotationsName = JsonEncodedText.Encode("pod_annotations");
    private static readonly JsonEncodedText BinaryPropertiesName = JsonEncodedText.Encode("binary_properties");
    private static readonly JsonEncodedText SetuidName = JsonEncodedText.Encode("setuid");
    private static readonly JsonEncodedText SetgidName = JsonEncodedText.Encode("setgid");
    private static readonly JsonEncodedText PrivilegesChangedName = JsonEncodedText.Encode("privileges_changed");
    private static readonly JsonEncodedText RaisedBySetuid = JsonEncodedText.Encode("PRIVILEGES_RAISED_EXEC_FILE_SETUID");
    private static readonly JsonEncodedText RaisedBySetgid = JsonEncodedText.Encode("PRIVILEGES_RAISED_EXEC_FILE_SETGID");
    private static readonly JsonEncodedText FileName = JsonEncodedText.Encode("file");
    private static readonly JsonEncodedText InodeName = JsonEncodedText.Encode("inode");
    private static readonly JsonEncodedText NumberName = JsonEncodedText.Encode("number");
    private static readonly JsonEncodedText LinksName = JsonEncodedText.Encode("links");
    private static readonly JsonEncodedText InInitTreeName = JsonEncodedText.Encode("in_init_tree");
    private static readonly JsonEncodedText UserRecordName = JsonEncodedText.Encode("user");
    private static readonly JsonEncodedText SecurebitsName = JsonEncodedText.Encode("securebits");
    private static readonly JsonEncodedText CapsName = JsonEncodedText.Encode("caps");
    private static readonly JsonEncodedText UserNsName = JsonEncodedText.Encode("user_ns");
    private static readonly JsonEncodedText LevelName = JsonEncodedText.Encode("level");
    private static readonly JsonEncodedText[] CredentialNames =
        Array.ConvertAll(["uid", "gid", "euid", "egid", "suid", "sgid", "fsuid", "fsgid"], name => JsonEncodedText.Encode(name));
    private static readonly JsonEncodedText[] NamespaceNames = NamespaceKinds.Names.Select(name => JsonEncodedText.Encode(name)).ToArray();

    private readonly ArgumentLine _arguments = new();
    private readonly RenderedCapabilitySets _capabilitySets = new();

    /// <param name="exec">The process of a process_exec: the only place Tetragon writes "binary_properties".</param>
    public void Write(Utf8JsonWriter json, JsonEncodedText property, ProcessSnapshot process, ThreadSnapshot? thread, ProcessFields fields, bool exec = false)
    {
        json.WriteStartObject(property);
        WriteFields(json, process, thread, exec ? fields : fields & ~ProcessFields.BinaryProperties);
        json.WriteEndObject();
    }

    public void WriteInArray(Utf8JsonWriter json, ProcessSnapshot process, ProcessFields fields)
    {
        json.WriteStartObject();
        WriteFields(json, process, thread: null, fields & ~ProcessFields.BinaryProperties);
        json.WriteEndObject();
    }

    private void WriteFields(Utf8JsonWriter json, ProcessSnapshot process, ThreadSnapshot? thread, ProcessFields fields)
    {
        var credentials = thread?.Credentials ?? process.Credentials;
        var capabilities = thread?.Capabilities ?? process.Capabilities;
        var namespaces = thread?.Namespaces ?? process.Namespaces;
        // A stand-in for a process never known holds zeros for what was not seen: left out, as Tetragon
        // leaves out what it does not know, since a 0 would read as root. A thread's own view was seen.
        var unknown = thread is null ? process.Flags : process.Flags & ProcessFlags.AuidUnknown;
        var credentialsKnown = (unknown & ProcessFlags.CredentialsUnknown) == 0;
        var capabilitiesKnown = (unknown & ProcessFlags.CapabilitiesUnknown) == 0;
        if (Has(fields, ProcessFields.ExecId)) ExecIdUtf8.Write(json, ExecIdName, process.ExecId);
        if (Has(fields, ProcessFields.Pid)) json.WriteNumber(PidName, process.Pid);
        // Tetragon's "uid" is the effective uid (its docs: maps to process_credentials.euid).
        if (Has(fields, ProcessFields.Uid) && credentialsKnown) json.WriteNumber(UidName, credentials.Euid);
        if (Has(fields, ProcessFields.Cwd) && process.Cwd.Length > 0) json.WriteString(CwdName, process.Cwd);
        if (Has(fields, ProcessFields.Binary) && process.Binary.Length > 0) json.WriteString(BinaryName, process.Binary);
        if (Has(fields, ProcessFields.Arguments))
        {
            var arguments = _arguments.Join(process.Arguments);
            if (!arguments.IsEmpty) json.WriteString(ArgumentsName, arguments);
        }
        if (Has(fields, ProcessFields.Flags)) WriteFlags(json, process);
        if (Has(fields, ProcessFields.StartTime) && process.StartTime != default) WriteTimestamp(json, StartTimeName, process.StartTime);
        if (Has(fields, ProcessFields.Auid) && (unknown & ProcessFlags.AuidUnknown) == 0) json.WriteNumber(AuidName, process.Auid);
        if (process.Container is { } container)
        {
            if (Has(fields, ProcessFields.Pod) && container.PodUid is { } podUid) WritePod(json, podUid, container.Pod, process);
            if (Has(fields, ProcessFields.Docker))
                json.WriteString(DockerName, container.ContainerId.AsSpan(0, Math.Min(container.ContainerId.Length, ContainerIdentity.TetragonDockerLength)));
        }
        if (Has(fields, ProcessFields.ParentExecId) && process.ParentExecId != default)
            ExecIdUtf8.Write(json, ParentExecIdName, process.ParentExecId);
        if (Has(fields, ProcessFields.Cap) && capabilitiesKnown) WriteCapabilities(json, CapName, capabilities);
        if (Has(fields, ProcessFields.Ns) && (unknown & ProcessFlags.NamespacesUnknown) == 0) WriteNamespaces(json, namespaces);
        if (Has(fields, ProcessFields.Tid)) json.WriteNumber(TidName, thread?.Tid ?? process.Pid);
        if (Has(fields, ProcessFields.ProcessCredentials) && credentialsKnown)
            WriteCredentials(json, credentials, capabilitiesKnown ? capabilities : null, namespaces, process.Details);
        if (Has(fields, ProcessFields.BinaryProperties)) WriteBinaryProperties(json, process);
        // The name is the leader's effective uid's: a thread that runs as another uid gets none rather than a wrong one.
        if (Has(fields, ProcessFields.User) && process.UserName is { } userName && credentialsKnown && credentials.Euid == process.Credentials.Euid)
        {
            json.WriteStartObject(UserRecordName);
            json.WriteString(NameName, userName);
            json.WriteEndObject();
        }
        // Tetragon sets it for containerized processes only; elsewhere it has no meaning.
        if (Has(fields, ProcessFields.InInitTree) && process.Container is not null) json.WriteBoolean(InInitTreeName, process.InInitTree);
    }

    // Tetragon's Pod: what the API server described (when the node watches it), else only the UID the cgroup names.
    private static void WritePod(Utf8JsonWriter json, string podUid, KubernetesPod? pod, ProcessSnapshot process)
    {
        json.WriteStartObject(PodName);
        if (pod is not null)
        {
            json.WriteString(NamespaceName, pod.Namespace);
            json.WriteString(NameName, pod.Name);
            if (pod.Container is { } container) WriteContainer(json, container, process);
            WriteStringMap(json, PodLabelsName, pod.Labels);
            json.WriteString(WorkloadName, pod.Workload);
            json.WriteString(WorkloadKindName, pod.WorkloadKind);
            WriteStringMap(json, PodAnnotationsName, pod.Annotations);
        }
        json.WriteString(UidName, podUid);
        json.WriteEndObject();
    }

    // A protojson map<string, string>: an object, left out when empty. Keys and values are the pod owner's: JSON's escaping applies to both.
    private static void WriteStringMap(Utf8JsonWriter json, JsonEncodedText property, ImmutableArray<KeyValuePair<string, string>> entries)
    {
        if (entries.IsDefaultOrEmpty) return;
        json.WriteStartObject(property);
        foreach (var (key, value) in entries) json.WriteString(key, value);
        json.WriteEndObject();
    }

    // Tetragon's Container. "pid" is the process's pid in its own pid namespace, left out when not known (a
    // fork that has not exec'd); "start_time" is when the container's status says it started running.
    private static void WriteContainer(Utf8JsonWriter json, KubernetesContainer container, ProcessSnapshot process)
    {
        json.WriteStartObject(ContainerName);
        json.WriteString(IdName, container.RuntimeId);
        json.WriteString(NameName, container.Name);
        json.WriteStartObject(ImageName);
        json.WriteString(IdName, container.ImageId);
        json.WriteString(NameName, container.ImageName);
        json.WriteEndObject();
        if (container.StartedAt is { } startedAt) WriteTimestamp(json, StartTimeName, startedAt);
        if (process.Details.NamespacePid > 0) json.WriteNumber(PidName, process.Details.NamespacePid);
        if (container.MaybeExecProbe(process.Binary, process.Arguments)) json.WriteBoolean(MaybeExecProbeName, true);
        json.WriteStartObject(SecurityContextName);
        if (container.Privileged) json.WriteBoolean(PrivilegedName, true);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    // Tetragon's binary_properties says how the exec changed privileges and whether the file run is in no file
    // system; an exec of a linked file that changed none has none.
    private static void WriteBinaryProperties(Utf8JsonWriter json, ProcessSnapshot process)
    {
        var credentials = process.Credentials;
        var file = process.Details.File;
        var setuid = file.RaisedUid(credentials);
        var setgid = file.RaisedGid(credentials);
        if (!setuid && !setgid && !file.Unlinked) return;
        json.WriteStartObject(BinaryPropertiesName);
        if (setuid) json.WriteNumber(SetuidName, credentials.Euid);
        if (setgid) json.WriteNumber(SetgidName, credentials.Egid);
        var toRootUser = setuid && credentials.Euid == 0;
        var toRootGroup = setgid && credentials.Egid == 0;
        if (toRootUser || toRootGroup)
        {
            json.WriteStartArray(PrivilegesChangedName);
            if (toRootUser) json.WriteStringValue(RaisedBySetuid);
            if (toRootGroup) json.WriteStringValue(RaisedBySetgid);
            json.WriteEndArray();
        }
        if (file.Unlinked) WriteUnlinkedFile(json, file.Inode);
        json.WriteEndObject();
    }

    // Tetragon's FileProperties of such a file: the inode alone (no path: the file has none), its links 0.
    private static void WriteUnlinkedFile(Utf8JsonWriter json, ulong inode)
    {
        json.WriteStartObject(FileName);
        json.WriteStartObject(InodeName);
        Span<char> digits = stackalloc char[20];
        inode.TryFormat(digits, out var length, default, CultureInfo.InvariantCulture);
        json.WriteString(NumberName, digits[..length]); // a uint64: a string in protojson
        json.WriteNumber(LinksName, 0);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    public static void WriteTimestamp(Utf8JsonWriter json, JsonEncodedText property, DateTime utc)
    {
        Span<byte> text = stackalloc byte[Rfc3339.MaxLength];
        json.WriteString(property, text[..Rfc3339.Format(utc, text)]);
    }

    private static bool Has(ProcessFields fields, ProcessFields field) => (fields & field) != 0;

    private static void WriteFlags(Utf8JsonWriter json, ProcessSnapshot process)
    {
        Span<byte> words = stackalloc byte[ProcessFlagWords.MaxLength];
        var length = ProcessFlagWords.Write(process, words);
        if (length > 0) json.WriteString(FlagsName, words[..length]);
    }

    private void WriteCapabilities(Utf8JsonWriter json, JsonEncodedText property, Capabilities capabilities)
    {
        json.WriteStartObject(property);
        WriteCapabilitySet(json, PermittedName, capabilities.Permitted);
        WriteCapabilitySet(json, EffectiveName, capabilities.Effective);
        WriteCapabilitySet(json, InheritableName, capabilities.Inheritable);
        json.WriteEndObject();
    }

    // protojson leaves empty repeated fields out. A host's processes carry a handful of sets (root's full one, a
    // service's few), each written up to three times per event: rendered once and then copied (writing root's 41 names
    // one by one was 2 % of `forkline run`'s CPU under an exec storm).
    private void WriteCapabilitySet(Utf8JsonWriter json, JsonEncodedText property, ulong mask)
    {
        if (mask == 0) return;
        json.WritePropertyName(property);
        json.WriteRawValue(_capabilitySets.Rendered(mask), skipInputValidation: true);
    }

    private static void WriteNamespaces(Utf8JsonWriter json, Namespaces namespaces)
    {
        json.WriteStartObject(NsName);
        for (var kind = 0; kind < NamespaceNames.Length; kind++)
        {
            var inum = NamespaceKinds.Inum(namespaces, (NamespaceKind)kind);
            if (inum == 0) continue;
            WriteNamespace(json, NamespaceNames[kind], inum, NamespaceKinds.IsHostOwned(namespaces, (NamespaceKind)kind));
        }
        json.WriteEndObject();
    }

    // "is_host" as the collector marked it: lines made at a gateway say what the collector's host said.
    private static void WriteNamespace(Utf8JsonWriter json, JsonEncodedText property, uint inum, bool hostOwned)
    {
        json.WriteStartObject(property);
        json.WriteNumber(InumName, inum);
        if (hostOwned) json.WriteBoolean(IsHostName, true);
        json.WriteEndObject();
    }

    private void WriteCredentials(Utf8JsonWriter json, Credentials credentials, Capabilities? capabilities, Namespaces namespaces, ExecDetails details)
    {
        var userNamespace = namespaces.User;
        json.WriteStartObject(CredentialsName);
        json.WriteNumber(CredentialNames[0], credentials.Uid);
        json.WriteNumber(CredentialNames[1], credentials.Gid);
        json.WriteNumber(CredentialNames[2], credentials.Euid);
        json.WriteNumber(CredentialNames[3], credentials.Egid);
        json.WriteNumber(CredentialNames[4], credentials.Suid);
        json.WriteNumber(CredentialNames[5], credentials.Sgid);
        json.WriteNumber(CredentialNames[6], credentials.Fsuid);
        json.WriteNumber(CredentialNames[7], credentials.Fsgid);
        WriteSecureBits(json, details.SecureBits);
        if (capabilities is { } sets) WriteCapabilities(json, CapsName, sets);
        if (userNamespace != 0 || details.UserNamespace is not null)
        {
            json.WriteStartObject(UserNsName);
            if (details.UserNamespace is { } owner)
            {
                json.WriteNumber(LevelName, owner.Level);
                json.WriteNumber(CredentialNames[0], owner.Uid);
                json.WriteNumber(CredentialNames[1], owner.Gid);
            }
            if (userNamespace != 0) WriteNamespace(json, NsName, userNamespace, NamespaceKinds.IsHostOwned(namespaces, NamespaceKind.User));
            json.WriteEndObject();
        }
        json.WriteEndObject();
    }

    // Tetragon's SecureBitsType values are the bits themselves (1, 2, 4, ... 128), each named.
    private static void WriteSecureBits(Utf8JsonWriter json, uint bits)
    {
        if (bits == 0) return;
        json.WriteStartArray(SecurebitsName);
        for (var remaining = bits; remaining != 0; remaining &= remaining - 1)
        {
            var bit = System.Numerics.BitOperations.TrailingZeroCount(remaining);
            if (LinuxNames.TryGetSecureBit(bit, out var name)) json.WriteStringValue(name);
            else json.WriteNumberValue(1u << bit);
        }
        json.WriteEndArray();
    }
}
