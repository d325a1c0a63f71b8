namespace Forkline.Contracts.Accounting;

/// <summary>
/// What an event source did with its records, since it started. At rest
/// <c>Produced + Bootstrapped == Lost + Discarded + Malformed + Delivered</c>; while it runs the
/// difference is what waits in the ring.
/// </summary>
/// <param name="Produced">Kernel: records the BPF programs tried to put into the ring. Replay: records read from the capture.</param>
/// <param name="Bootstrapped">Exec records made from /proc for processes that ran before the collector.</param>
/// <param name="Lost">Ring reservations that failed (the ring was full).</param>
/// <param name="Discarded">Records reserved and then discarded by the kernel side.</param>
/// <param name="Malformed">Records the decoder rejected.</param>
/// <param name="Delivered">Events decoded and handed to the process actors.</param>
public readonly record struct SourceCounts(long Produced, long Bootstrapped, long Lost, long Discarded, long Malformed, long Delivered);
