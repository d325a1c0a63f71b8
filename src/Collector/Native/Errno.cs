using System.Text;

namespace Forkline.Collector.Native;

/// <summary>Turns errno values and libbpf's own error codes into "text (NAME)" for messages.</summary>
internal static unsafe class Errno
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EEXIST = 17;
    public const int EINVAL = 22;
    public const int EACCES = 13;
    public const int ENOTSUPP = 524; // kernel-internal ENOTSUPP, which BPF syscalls leak
    public const int EOPNOTSUPP = 95;

    private static readonly Dictionary<int, string> Names = new()
    {
        [1] = "EPERM", [2] = "ENOENT", [3] = "ESRCH", [4] = "EINTR", [5] = "EIO", [7] = "E2BIG",
        [9] = "EBADF", [11] = "EAGAIN", [12] = "ENOMEM", [13] = "EACCES", [14] = "EFAULT",
        [16] = "EBUSY", [17] = "EEXIST", [19] = "ENODEV", [22] = "EINVAL", [24] = "EMFILE",
        [28] = "ENOSPC", [34] = "ERANGE", [38] = "ENOSYS", [95] = "EOPNOTSUPP", [524] = "ENOTSUPP",
        [4000] = "LIBBPF_ERRNO__LIBELF", [4001] = "LIBBPF_ERRNO__FORMAT", [4002] = "LIBBPF_ERRNO__KVERSION",
        [4003] = "LIBBPF_ERRNO__ENDIAN", [4004] = "LIBBPF_ERRNO__INTERNAL", [4005] = "LIBBPF_ERRNO__RELOC",
        [4006] = "LIBBPF_ERRNO__LOAD", [4007] = "LIBBPF_ERRNO__VERIFY", [4008] = "LIBBPF_ERRNO__PROG2BIG",
        [4009] = "LIBBPF_ERRNO__KVER", [4010] = "LIBBPF_ERRNO__PROGTYPE",
    };

    /// <summary>"Operation not permitted (EPERM)" for 1 or -1.</summary>
    public static string Describe(int error)
    {
        var code = Math.Abs(error);
        Span<byte> buffer = stackalloc byte[256];
        string text;
        fixed (byte* bytes = buffer)
        {
            LibBpf.StrError(code, bytes, (nuint)buffer.Length);
            var length = buffer.IndexOf((byte)0);
            text = Encoding.UTF8.GetString(buffer[..(length < 0 ? buffer.Length : length)]);
        }
        return Names.TryGetValue(code, out var name) ? $"{text} ({name})" : $"{text} (errno {code})";
    }
}
