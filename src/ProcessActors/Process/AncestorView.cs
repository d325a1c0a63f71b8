using Forkline.Contracts.Snapshots;

namespace Forkline.ProcessActors.Process;

/// <summary>
/// What an enriched event shows as Ancestors: the chain beyond the parent (as Tetragon's "ancestors"),
/// cut to the configured depth. The chain is shared with the parent's, so this copies only when it must cut.
/// </summary>
internal static class AncestorView
{
    public static AncestorChain? ForEvents(AncestorChain? lineage, int depth)
    {
        var beyondParent = lineage?.Next;
        if (depth == 0 || beyondParent is null) return null;
        return IsLongerThan(beyondParent, depth) ? CopyFirst(beyondParent, depth) : beyondParent;
    }

    private static bool IsLongerThan(AncestorChain chain, int depth)
    {
        var length = 0;
        for (AncestorChain? node = chain; node is not null; node = node.Next)
            if (++length > depth) return true;
        return false;
    }

    private static AncestorChain? CopyFirst(AncestorChain? chain, int count) =>
        count == 0 || chain is null ? null : new AncestorChain(chain.Process, CopyFirst(chain.Next, count - 1));
}
