using System;

namespace Kernel.BanCheck;

public static class Violation
{
#if NO_VIOLATION
    public static DateTimeOffset Now(TimeProvider clock) => clock.GetUtcNow();
#else
    // Ambient wall-clock time: banned in code that runs under the simulator.
    public static DateTime Now() => DateTime.UtcNow;
#endif
}
