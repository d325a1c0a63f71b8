namespace Forkline.Contracts.Identity;

/// <summary>
/// Host-local identity of one process image: its pid and the boot-clock ktime its image started.
/// Two images with the same pid (PID reuse, or exec replacing an image) always differ in start.
/// </summary>
public readonly record struct ProcessKey(int Pid, ulong StartKtime)
{
    public static readonly ProcessKey None = default;

    public bool IsNone => Pid == 0 && StartKtime == 0;

    public override string ToString() => $"{Pid}@{StartKtime}";
}
