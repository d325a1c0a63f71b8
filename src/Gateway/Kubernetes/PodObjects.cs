using System.Collections.Immutable;
using System.Globalization;
using System.Text.Json;
using Forkline.Contracts.Identity;

namespace Forkline.Gateway.Kubernetes;

/// <summary>
/// Reads the API server's Pod objects (core/v1 JSON) into <see cref="KubernetesPod"/>s: the pod
/// itself, then one per container its status names (containers, init containers, ephemeral
/// containers) that has a container id yet.
/// </summary>
public static class PodObjects
{
    private const string TemplateHashLabel = "pod-template-hash";

    /// <summary>The pod's UID, or null for an object without one (not a pod).</summary>
    public static string? UidOf(JsonElement pod) =>
        pod.TryGetProperty("metadata", out var metadata) && Text(metadata, "uid") is { Length: > 0 } uid ? uid : null;

    /// <param name="annotations">Read the pod's annotations too (<c>Collector:PodAnnotations</c>).</param>
    public static List<KubernetesPod> Read(JsonElement pod, bool annotations)
    {
        var metadata = pod.GetProperty("metadata");
        var labels = SortedStrings(metadata, "labels");
        var (workload, kind) = WorkloadOf(metadata, labels);
        var described = new KubernetesPod(
            Text(metadata, "uid") ?? "", Text(metadata, "namespace") ?? "", Text(metadata, "name") ?? "", labels, workload, kind,
            Annotations: annotations ? SortedStrings(metadata, "annotations") : []);
        var read = new List<KubernetesPod> { described };
        if (!pod.TryGetProperty("status", out var status)) return read;
        pod.TryGetProperty("spec", out var spec);
        foreach (var (statuses, specs) in (ReadOnlySpan<(string, string)>)
                 [("containerStatuses", "containers"), ("initContainerStatuses", "initContainers"), ("ephemeralContainerStatuses", "ephemeralContainers")])
        {
            if (!status.TryGetProperty(statuses, out var containers) || containers.ValueKind != JsonValueKind.Array) continue;
            foreach (var container in containers.EnumerateArray())
            {
                // A container not created yet has no id: it is named once the kubelet reports it.
                if (Text(container, "containerID") is not { Length: > 0 } runtimeId) continue;
                var name = Text(container, "name") ?? "";
                var declared = SpecOf(spec, specs, name);
                read.Add(described with
                {
                    Container = new KubernetesContainer(runtimeId, name, Text(container, "image") ?? "", Text(container, "imageID") ?? "",
                        StartedAt(container), Privileged(declared),
                        // As Tetragon: the probes of the pod's regular containers only.
                        specs == "containers" ? ExecProbes(declared) : []),
                });
            }
        }
        return read;
    }

    private static JsonElement? SpecOf(JsonElement spec, string list, string name)
    {
        if (spec.ValueKind != JsonValueKind.Object || !spec.TryGetProperty(list, out var containers) || containers.ValueKind != JsonValueKind.Array) return null;
        foreach (var container in containers.EnumerateArray())
            if (Text(container, "name") == name) return container;
        return null;
    }

    // status.state.running.startedAt: a container that is waiting or terminated has no running start.
    private static DateTime? StartedAt(JsonElement status) =>
        status.TryGetProperty("state", out var state) && state.ValueKind == JsonValueKind.Object
        && state.TryGetProperty("running", out var running) && running.ValueKind == JsonValueKind.Object
        && Text(running, "startedAt") is { } startedAt
        && DateTime.TryParse(startedAt, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : null;

    private static bool Privileged(JsonElement? container) =>
        container is { } declared
        && declared.TryGetProperty("securityContext", out var security) && security.ValueKind == JsonValueKind.Object
        && security.TryGetProperty("privileged", out var privileged) && privileged.ValueKind == JsonValueKind.True;

    private static ImmutableArray<ImmutableArray<string>> ExecProbes(JsonElement? container)
    {
        if (container is not { } declared) return [];
        var probes = ImmutableArray.CreateBuilder<ImmutableArray<string>>();
        foreach (var kind in (ReadOnlySpan<string>)["livenessProbe", "readinessProbe"])
        {
            if (!declared.TryGetProperty(kind, out var probe) || probe.ValueKind != JsonValueKind.Object
                || !probe.TryGetProperty("exec", out var exec) || exec.ValueKind != JsonValueKind.Object
                || !exec.TryGetProperty("command", out var command) || command.ValueKind != JsonValueKind.Array)
                continue;
            var argv = ImmutableArray.CreateBuilder<string>();
            foreach (var word in command.EnumerateArray()) argv.Add(word.ValueKind == JsonValueKind.String ? word.GetString()! : word.GetRawText());
            if (argv.Count > 0) probes.Add(argv.ToImmutable());
        }
        return probes.ToImmutable();
    }

    // metadata.labels or .annotations: a map of strings (null reads as empty; anything else the API server would not send, as its JSON text).
    private static ImmutableArray<KeyValuePair<string, string>> SortedStrings(JsonElement metadata, string map)
    {
        if (!metadata.TryGetProperty(map, out var entries) || entries.ValueKind != JsonValueKind.Object) return [];
        var sorted = ImmutableArray.CreateBuilder<KeyValuePair<string, string>>();
        foreach (var entry in entries.EnumerateObject())
        {
            var value = entry.Value.ValueKind switch
            {
                JsonValueKind.String => entry.Value.GetString()!,
                JsonValueKind.Null => "",
                _ => entry.Value.GetRawText(),
            };
            sorted.Add(new KeyValuePair<string, string>(entry.Name, value));
        }
        sorted.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        return sorted.ToImmutable();
    }

    // The controller that owns the pod. A Deployment owns it through a ReplicaSet named
    // "<deployment>-<pod-template-hash>"; a pod nothing owns is its own workload.
    private static (string Name, string Kind) WorkloadOf(JsonElement metadata, ImmutableArray<KeyValuePair<string, string>> labels)
    {
        var podName = Text(metadata, "name") ?? "";
        if (metadata.TryGetProperty("ownerReferences", out var owners) && owners.ValueKind == JsonValueKind.Array)
        {
            foreach (var owner in owners.EnumerateArray())
            {
                if (!owner.TryGetProperty("controller", out var controller) || controller.ValueKind != JsonValueKind.True) continue;
                var kind = Text(owner, "kind") ?? "";
                var name = Text(owner, "name") ?? "";
                if (kind == "ReplicaSet" && TemplateHash(labels) is { } hash && name.EndsWith("-" + hash, StringComparison.Ordinal))
                    return (name[..^(hash.Length + 1)], "Deployment");
                return (name, kind);
            }
        }
        return (podName, "Pod");
    }

    private static string? TemplateHash(ImmutableArray<KeyValuePair<string, string>> labels)
    {
        foreach (var (key, value) in labels)
            if (key == TemplateHashLabel) return value;
        return null;
    }

    private static string? Text(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
