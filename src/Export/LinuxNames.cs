using System.Text.Json;

namespace Forkline.Export;

/// <summary>Names of Linux signals and capabilities, spelled the way Tetragon exports them.</summary>
public static class LinuxNames
{
    // x86_64 numbering (signal(7)); 32 and 33 are reserved by glibc for its threads.
    private static readonly string[] Signals =
    [
        "", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL",
        "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT",
        "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF",
        "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
    ];

    private const int FirstRealtimeSignal = 34;
    private const int LastRealtimeSignal = 64;

    private static readonly string[] RealtimeSignals = BuildRealtimeSignals();

    // Tetragon's CapabilitiesType enum: bit 1 is "DAC_OVERRIDE" without the CAP_ prefix there, and
    // protojson consumers of Tetragon's schema only accept that spelling, so it stays.
    private static readonly JsonEncodedText[] Capabilities = Array.ConvertAll(new[]
    {
        "CAP_CHOWN", "DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    }, name => JsonEncodedText.Encode(name));

    // Tetragon's SecureBitsType names, bit 0 first (SECBIT_NOROOT ... SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED).
    private static readonly JsonEncodedText[] SecureBits = Array.ConvertAll(new[]
    {
        "SecBitNoRoot", "SecBitNoRootLocked", "SecBitNoSetUidFixup", "SecBitNoSetUidFixupLocked",
        "SecBitKeepCaps", "SecBitKeepCapsLocked", "SecBitNoCapAmbientRaise", "SecBitNoCapAmbientRaiseLocked",
    }, name => JsonEncodedText.Encode(name));

    /// <summary>"SIGKILL" for 9; "SIGRTMIN+n" for real-time signals; "SIG&lt;n&gt;" for numbers without a name.</summary>
    public static string SignalName(int signal)
    {
        if (signal > 0 && signal < Signals.Length) return Signals[signal];
        if (signal is >= FirstRealtimeSignal and <= LastRealtimeSignal) return RealtimeSignals[signal - FirstRealtimeSignal];
        return string.Create(System.Globalization.CultureInfo.InvariantCulture, $"SIG{signal}");
    }

    /// <summary>Tetragon's name of capability bit <paramref name="bit"/>, or false for bits past CAP_LAST_CAP.</summary>
    public static bool TryGetCapability(int bit, out JsonEncodedText name)
    {
        if ((uint)bit < (uint)Capabilities.Length)
        {
            name = Capabilities[bit];
            return true;
        }
        name = default;
        return false;
    }

    /// <summary>Tetragon's name of secure bit <paramref name="bit"/> (0: SecBitNoRoot), or false for bits it does not name.</summary>
    public static bool TryGetSecureBit(int bit, out JsonEncodedText name)
    {
        if ((uint)bit < (uint)SecureBits.Length)
        {
            name = SecureBits[bit];
            return true;
        }
        name = default;
        return false;
    }

    private static string[] BuildRealtimeSignals()
    {
        var names = new string[LastRealtimeSignal - FirstRealtimeSignal + 1];
        for (var i = 0; i < names.Length; i++)
            names[i] = i == 0 ? "SIGRTMIN" : $"SIGRTMIN+{i}";
        return names;
    }
}
