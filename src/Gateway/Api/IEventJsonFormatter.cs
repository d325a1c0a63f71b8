using Forkline.Contracts.History;
using Forkline.Contracts.Snapshots;

namespace Forkline.Gateway.Api;

/// <summary>
/// Renders an event as one line of the live JSON export, so streams and replays read exactly like
/// the export file. The export project's formatter implements this once Gateway may reference it.
/// </summary>
public interface IEventJsonFormatter
{
    string Format(EnrichedEvent enriched);

    /// <summary>The line that tells a stream's reader it missed <paramref name="dropped"/> events (Tetragon's rate_limit_info).</summary>
    string FormatDropped(long dropped, string node, DateTime time);

    /// <summary>The line of a gap in a replay (a forkline_gap line, which strict Tetragon readers reject).</summary>
    string FormatGap(HostGap gap);
}
