namespace Forkline.Collector.Procfs;

internal enum ProcFileOutcome
{
    Read,
    /// <summary>ENOENT or ESRCH: the process (or this view of it) no longer exists.</summary>
    Gone,
    Failed,
}

/// <summary>Reads /proc files and links, telling "the process went away" apart from real failures.</summary>
internal static class ProcFiles
{
    private const int PathMax = 4096;

    /// <param name="error">Why a Failed read failed ("Permission denied (errno 13)").</param>
    public static ProcFileOutcome TryRead(string path, out byte[] content, out string error)
    {
        content = [];
        error = "";
        try
        {
            content = File.ReadAllBytes(path);
            return ProcFileOutcome.Read;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException
                                       || (e is IOException && e.HResult == ProcfsNative.ESRCH))
        {
            return ProcFileOutcome.Gone;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = e.Message;
            return ProcFileOutcome.Failed;
        }
    }

    public static ProcFileOutcome TryReadLink(string path, out byte[] target, out string error)
    {
        target = [];
        error = "";
        Span<byte> buffer = stackalloc byte[PathMax];
        var length = ProcfsNative.ReadLink(path, buffer);
        if (length >= 0)
        {
            target = buffer[..length].ToArray();
            return ProcFileOutcome.Read;
        }
        if (-length is ProcfsNative.ENOENT or ProcfsNative.ESRCH) return ProcFileOutcome.Gone;
        error = DescribeErrno(-length);
        return ProcFileOutcome.Failed;
    }

    public static string DescribeErrno(int errno) =>
        $"{System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";
}
