namespace Forkline.Collector.Decoding;

/// <summary>
/// The path of an exec as Tetragon writes "binary": absolute. The kernel's bprm->filename is the path as
/// passed to execve, so <c>execve("./x")</c> gives "./x"; it names the file relative to the caller's cwd,
/// which the same record carries. (execveat with a directory fd is already absolute: "/dev/fd/N/x".)
/// </summary>
internal static class ExecutedPath
{
    /// <summary>
    /// <paramref name="filename"/> itself when absolute; else joined to <paramref name="cwd"/> and its "." and
    /// ".." resolved by name, as Tetragon does. Exact for ".." right after the cwd (the kernel's cwd walk gives
    /// the real path, no symlinks); a symlinked directory inside the relative part is not looked up, so its
    /// ".." stays the name's. Left relative when the cwd is not known whole (empty, or cut by the walk).
    /// </summary>
    public static string Absolute(string filename, string cwd, bool cwdTruncated)
    {
        if (filename.Length == 0 || filename[0] == '/' || cwd.Length == 0 || cwd[0] != '/' || cwdTruncated) return filename;
        var parts = new List<string>();
        foreach (var part in $"{cwd}/{filename}".Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (part == ".") continue;
            if (part == "..")
            {
                // "/.." is "/": the root is its own parent.
                if (parts.Count > 0) parts.RemoveAt(parts.Count - 1);
                continue;
            }
            parts.Add(part);
        }
        return "/" + string.Join('/', parts);
    }
}
