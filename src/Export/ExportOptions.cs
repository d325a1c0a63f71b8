
namespace Forkline.Export;

public enum ExportFormat
{
    /// <summary>One readable line per event (<see cref="CompactFormatter"/>).</summary>
    Compact,

    /// <summary>Tetragon-shaped JSON lines (<see cref="TetragonJsonFormatter"/>).</summary>
    Json,
}

/// <summary>Everything <see cref="ExportSink.Create"/> needs; maps one to one onto command-line options.</summary>
public sealed record ExportOptions
{
    public ExportFormat Format { get; init; } = ExportFormat.Compact;

    /// <summary>Compact view only: an emoji before each line, as Tetragon's compact view.</summary>
    public bool Emoji { get; init; }

    public EventFilterOptions Filter { get; init; } = new();

    /// <summary>JSON only: which process fields to write; null writes all.</summary>
    public FieldSelection? Fields { get; init; }

    /// <summary>Write to this file (rotated by size) instead of stdout.</summary>
    public string? FilePath { get; init; }

    public long MaxFileBytes { get; init; } = 100L * 1024 * 1024;

    public int KeepFiles { get; init; } = 5;

    public int QueueCapacity { get; init; } = ExportSink.DefaultQueueCapacity;
}
