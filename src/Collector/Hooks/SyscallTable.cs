using System.Collections.Frozen;

namespace Forkline.Collector.Hooks;

/// <summary>
/// x86_64 syscall numbers (from asm/unistd_64.h) for the names a hook policy may use; any other
/// syscall can still be hooked by number.
/// </summary>
public static class SyscallTable
{
    /// <summary>The size of the BPF hook-selection array: numbers from here up cannot be hooked.</summary>
    public const int MaxSyscallNumber = Decoding.FlConstants.SyscallMax;

    private static readonly FrozenDictionary<string, int> NumbersByName = new (string Name, int Number)[]
    {
        ("read", 0), ("write", 1), ("open", 2), ("close", 3), ("mmap", 9), ("mprotect", 10), ("pipe", 22),
        ("dup", 32), ("dup2", 33), ("getpid", 39), ("socket", 41), ("connect", 42), ("accept", 43), ("sendto", 44),
        ("recvfrom", 45), ("sendmsg", 46), ("recvmsg", 47), ("bind", 49), ("listen", 50), ("clone", 56),
        ("fork", 57), ("vfork", 58), ("execve", 59), ("exit", 60), ("wait4", 61), ("kill", 62), ("truncate", 76),
        ("ftruncate", 77), ("chdir", 80), ("fchdir", 81), ("rename", 82), ("creat", 85), ("link", 86),
        ("unlink", 87), ("symlink", 88), ("chmod", 90), ("fchmod", 91), ("chown", 92), ("fchown", 93),
        ("lchown", 94), ("ptrace", 101), ("getuid", 102), ("getgid", 104), ("setuid", 105), ("setgid", 106),
        ("geteuid", 107), ("getegid", 108), ("setpgid", 109), ("getppid", 110), ("setsid", 112), ("setreuid", 113),
        ("setregid", 114), ("setresuid", 117), ("setresgid", 119), ("setfsuid", 122), ("setfsgid", 123),
        ("capget", 125), ("capset", 126), ("mknod", 133), ("personality", 135), ("pivot_root", 155), ("prctl", 157),
        ("chroot", 161), ("mount", 165), ("umount2", 166), ("reboot", 169), ("iopl", 172), ("ioperm", 173),
        ("init_module", 175), ("delete_module", 176), ("gettid", 186), ("tkill", 200), ("exit_group", 231),
        ("tgkill", 234), ("kexec_load", 246), ("waitid", 247), ("add_key", 248), ("request_key", 249),
        ("keyctl", 250), ("openat", 257), ("mknodat", 259), ("fchownat", 260), ("unlinkat", 263), ("renameat", 264),
        ("linkat", 265), ("symlinkat", 266), ("fchmodat", 268), ("unshare", 272), ("accept4", 288), ("dup3", 292),
        ("pipe2", 293), ("perf_event_open", 298), ("setns", 308), ("process_vm_readv", 310),
        ("process_vm_writev", 311), ("finit_module", 313), ("renameat2", 316), ("seccomp", 317),
        ("memfd_create", 319), ("kexec_file_load", 320), ("bpf", 321), ("execveat", 322), ("pidfd_open", 434),
        ("clone3", 435), ("openat2", 437), ("pidfd_getfd", 438),
    }.ToFrozenDictionary(entry => entry.Name, entry => entry.Number, StringComparer.Ordinal);

    /// <summary>The syscalls that change a thread's credentials; always hooked at exit.</summary>
    public static readonly IReadOnlyList<string> CredentialFamily =
        ["setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid", "capset"];

    public static bool TryGetNumber(string name, out int number) => NumbersByName.TryGetValue(name, out number);

    /// <summary>The names this table knows, in alphabetical order.</summary>
    public static IEnumerable<string> Names => NumbersByName.Keys.Order(StringComparer.Ordinal);
}
