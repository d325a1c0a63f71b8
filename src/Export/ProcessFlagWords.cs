using Forkline.Contracts.Snapshots;

namespace Forkline.Export;

/// <summary>
/// Tetragon's "flags" string: space-separated words, in Tetragon's order. "truncCWD" is Forkline's
/// own (Tetragon has no bounded cwd walk to report). "miss" is Tetragon's word for a process whose
/// own or parent's information was not found: Forkline's incomplete events.
/// </summary>
internal static class ProcessFlagWords
{
    /// <summary>Longer than all words joined.</summary>
    public const int MaxLength = 96;

    public static int Write(ProcessSnapshot process, Span<byte> destination)
    {
        var flags = process.Flags;
        var fromProcfs = (flags & ProcessFlags.Procfs) != 0;
        var cloneOnly = (flags & ProcessFlags.CloneOnly) != 0;
        var length = 0;
        if ((flags & ProcessFlags.Exec) != 0 && !fromProcfs && !cloneOnly) Append("execve"u8, destination, ref length);
        if (fromProcfs) Append("procFS"u8, destination, ref length);
        if ((flags & ProcessFlags.FilenameTruncated) != 0) Append("truncFilename"u8, destination, ref length);
        if ((flags & ProcessFlags.ArgsTruncated) != 0) Append("truncArgs"u8, destination, ref length);
        if ((flags & ProcessFlags.CwdTruncated) != 0) Append("truncCWD"u8, destination, ref length);
        if ((flags & ProcessFlags.Incomplete) != 0) Append("miss"u8, destination, ref length);
        if ((flags & ProcessFlags.ArgsUnreadable) != 0) Append("errorArgs"u8, destination, ref length);
        if (process.Cwd == "/") Append("rootcwd"u8, destination, ref length);
        if (!fromProcfs && (cloneOnly || WasForkedBeforeExec(process))) Append("clone"u8, destination, ref length);
        return length;
    }

    // Tetragon's "clone": the image was exec'd by a fresh fork. An exec without a fork keeps the pid, so
    // there the parent image has the same pid (DESIGN: the pre-exec image is the parent).
    private static bool WasForkedBeforeExec(ProcessSnapshot process) =>
        process.ParentExecId != default && process.ParentExecId.Pid != process.Pid;

    private static void Append(ReadOnlySpan<byte> word, Span<byte> destination, ref int length)
    {
        if (length > 0) destination[length++] = (byte)' ';
        word.CopyTo(destination[length..]);
        length += word.Length;
    }
}
