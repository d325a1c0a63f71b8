using Forkline.Contracts.Snapshots;

namespace Forkline.Contracts.Wire;

public sealed partial class ProcessInfo
{
    /// <summary>
    /// The snapshot this message was made from, set when it goes to a gateway in this same process by reference
    /// (<c>forkline run</c> hands its wire events to its own host trees); null when it was read from bytes. Not a
    /// field of the message: never serialized, not copied by Clone. The gateway takes it back instead of building
    /// an equal second snapshot, so the host's live tree and the process actor that owns the image hold one
    /// snapshot between them (two were about 700 B of the 2.2 KB each live process cost). Safe because a snapshot
    /// is immutable and a message is never changed once built.
    /// </summary>
    public ProcessSnapshot? Source { get; set; }
}
