using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Runtime.Serialization;
using Akka.Actor;
using Akka.Serialization;
using Forkline.Contracts.Wire;
using Google.Protobuf;

namespace Forkline.Gateway.Cluster;

/// <summary>
/// Protobuf serializer for every Forkline message that crosses the wire or goes to the journal and
/// snapshots. Manifests are short and stable: they are stored in journal rows, so never change one.
/// </summary>
public sealed class ForklineWireSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int SerializerId = 4171;

    /// <summary>The largest message between nodes (a remoting frame, an ingest call): room for a full batch of events with long arguments and ancestor chains.</summary>
    public const int MaximumFrameBytes = 16 * 1024 * 1024;

    private static readonly (Type Type, string Manifest, MessageParser Parser)[] Bindings =
    [
        (typeof(EventBatch), "fb", EventBatch.Parser),
        (typeof(EventBatchAck), "fa", EventBatchAck.Parser),
        (typeof(HostEventsPersisted), "jh", HostEventsPersisted.Parser),
        (typeof(HostTreeSnapshot), "js", HostTreeSnapshot.Parser),
        (typeof(ListLiveProcesses), "ql", ListLiveProcesses.Parser),
        (typeof(LiveProcessList), "rl", LiveProcessList.Parser),
        (typeof(GetLiveLineage), "qg", GetLiveLineage.Parser),
        (typeof(LiveLineage), "rg", LiveLineage.Parser),
        (typeof(SnapshotHostTree), "qn", SnapshotHostTree.Parser),
        (typeof(HostTreeSnapshotRequested), "rn", HostTreeSnapshotRequested.Parser),
        (typeof(CollectorRunReport), "fr", CollectorRunReport.Parser),
        (typeof(CollectorRunReportAck), "fk", CollectorRunReportAck.Parser),
        (typeof(GetHostAccounts), "qs", GetHostAccounts.Parser),
        (typeof(HostAccounts), "rs", HostAccounts.Parser),
        (typeof(ReconcileHost), "qc", ReconcileHost.Parser),
        (typeof(HostReconciled), "rc", HostReconciled.Parser),
        (typeof(GetLiveProcesses), "qe", GetLiveProcesses.Parser),
    ];

    private static readonly FrozenDictionary<Type, string> ManifestByType =
        Bindings.ToFrozenDictionary(b => b.Type, b => b.Manifest);

    private static readonly FrozenDictionary<string, MessageParser> ParserByManifest =
        Bindings.ToFrozenDictionary(b => b.Manifest, b => b.Parser);

    /// <summary>The message types to bind to this serializer.</summary>
    public static IReadOnlyCollection<Type> BoundTypes => ManifestByType.Keys;

    public override int Identifier => SerializerId;

    /// <summary>Binds every Forkline wire message to this serializer (never to Akka's default one).</summary>
    public static SerializationSetup Setup() =>
        SerializationSetup.Create(system => ImmutableHashSet.Create(
            SerializerDetails.Create("forkline-wire", new ForklineWireSerializer(system), ImmutableHashSet.CreateRange(BoundTypes))));

    public override byte[] ToBinary(object obj) => obj is IMessage message
        ? message.ToByteArray()
        : throw new ArgumentException($"{nameof(ForklineWireSerializer)} cannot serialize {obj.GetType().FullName}: it is not a Forkline wire message", nameof(obj));

    public override object FromBinary(byte[] bytes, string manifest) =>
        ParserByManifest.TryGetValue(manifest, out var parser)
            ? parser.ParseFrom(bytes)
            : throw new SerializationException($"unknown Forkline wire manifest '{manifest}' ({bytes.Length} bytes): written by a newer Forkline? known: {string.Join(", ", ParserByManifest.Keys)}");

    public override string Manifest(object o) =>
        ManifestByType.TryGetValue(o.GetType(), out var manifest)
            ? manifest
            : throw new ArgumentException($"{o.GetType().FullName} has no Forkline wire manifest; add it to {nameof(ForklineWireSerializer)}.{nameof(Bindings)}", nameof(o));
}
